"""Measure the retention sweep (issue 19 item 2) on the database DATABASE_URL names.

On a seeded database (seed_demo: closed cases with notes, transitions and notices holding the
customer's contact data) it moves ``--past`` percent of the closed cases (every n-th) four
years back, past the default 36-month rule, so only with ``--yes``: the sweep then
anonymises them for good. Then times
  1. the selection of the cases past retention (and prints its plan: the partial index),
  2. the sweep (batches of RETENTION_SWEEP_BATCH), with its query count per batch,
  3. a sweep when nothing is due (the steady state, every night).
Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed \\
        python bench/bench_retention.py --yes [--past 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")

try:
    from bench import harness
except ImportError:
    import harness  # type: ignore[no-redef]


def backdate(percent: float) -> int:
    """Move the closing time of ``percent`` of the closed cases (every n-th) four years back,
    past the default 36-month rule. Returns how many."""
    from django.db.models import F

    from cases.models import Case

    every = max(1, round(100 / percent))
    closed = Case.objects.filter(closed_at__isnull=False, anonymised_at__isnull=True)
    ids = list(closed.order_by("pk").values_list("pk", flat=True)[::every])
    Case.objects.filter(pk__in=ids).update(closed_at=F("closed_at") - timedelta(days=1460))
    return len(ids)


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--past", type=float, default=1.0,
                        help="percent of the closed cases moved past retention")
    parser.add_argument("--yes", action="store_true",
                        help="allow backdating and anonymising those cases (changes data)")
    args = parser.parse_args(argv)
    harness.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cases.services.retention import cases_past_retention, retention_sweep

    harness.require_cases()
    harness.require_yes(args.yes, f"backdates {args.past:g} % of the closed cases by four years "
                                  "and anonymises them (the retention sweep)")
    moved = backdate(args.past)
    print(f"{moved:,} closed cases moved past retention")

    selection = cases_past_retention(timezone.now()).order_by("closed_at", "pk")
    print(selection.values_list("pk", flat=True)[:settings.RETENTION_SWEEP_BATCH].explain())
    started = time.perf_counter()
    due = selection.count()
    print(f"selection: {due:,} cases past retention, counted in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = retention_sweep()
        elapsed = time.perf_counter() - started
    batches = max(1, -(-result.cases // settings.RETENTION_SWEEP_BATCH))
    print(f"sweep: {result.cases:,} cases and {result.customers:,} customers anonymised in "
          f"{elapsed:.1f} s ({result.cases / elapsed:,.0f} cases/s), {len(queries)} queries "
          f"in {batches} batches of {settings.RETENTION_SWEEP_BATCH} "
          f"({len(queries) / batches:.0f} per batch); rows: {result.rows}")
    started = time.perf_counter()
    idle = retention_sweep()
    idle_ms = (time.perf_counter() - started) * 1000
    print(f"idle sweep: {idle.cases} cases in {idle_ms:.0f} ms")
    return [harness.row("retention sweep", [elapsed * 1000], len(queries), None,
                        note=f"{result.cases:,} cases anonymised"),
            harness.row("retention sweep, nothing due", [idle_ms], None, None)]


if __name__ == "__main__":
    harness.main_for(run)
