"""Benchmark of the KPI dashboard on the database DATABASE_URL names (seeded by seed_demo).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed python bench/bench_reports.py

Brings the KPI day sums up to date first (``kpi_summaries``: what the beat task does every
minute; a seeded database has them built already), then times the dashboard's selector and
the whole page (request, queries, template) for last month and the last 12 months as the demo
supervisor. ``--live`` also times the selector without the day sums (aggregating over the
cases). ``--changes 200`` first changes the category of that many recent cases and times the
refresh a page does after them (changes data: --yes). Targets from issue 18: month < 0.5 s,
year < 2 s. Prints figures; asserts nothing. Touches no case unless asked (never TRUNCATEs).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from unittest import mock

try:
    from bench import harness
except ImportError:
    import harness  # type: ignore[no-redef]

TARGETS = {"month": 500, "year": 2000}


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--user", default="supervisor")
    parser.add_argument("--live", action="store_true",
                        help="also time the selector computed over the cases (no day sums)")
    parser.add_argument("--changes", type=int, default=0,
                        help="change this many recent cases and time the refresh (--yes)")
    parser.add_argument("--yes", action="store_true", help="allow --changes")
    args = parser.parse_args(argv)
    harness.setup()
    from django.test import Client
    from django.utils import timezone

    from cases.choices import Category
    from cases.models import Case
    from reporting import selectors, summaries
    from reporting.periods import LAST_12_MONTHS, LAST_MONTH, resolve, today_local

    harness.require_cases()
    user = harness.demo_user(args.user)
    if args.changes:
        harness.require_yes(args.yes, f"changes the category of {args.changes} recent cases")
    rows: list[harness.Row] = []
    started = time.perf_counter()
    built = summaries.refresh()
    rows.append(harness.row("KPI day sums brought up to date", [
        (time.perf_counter() - started) * 1000], None, None,
        note=f"{built.cases:,} cases computed{' (rebuilt)' if built.rebuilt else ''}"))
    now = timezone.now()
    if args.changes:
        rng = random.Random(3)
        sample = list(Case.objects.filter(received_at__gte=now - timedelta(days=20))
                      .values_list("pk", flat=True)[:args.changes])
        for pk in sample:
            Case.objects.filter(pk=pk).update(category=rng.choice(Category.values))
        times, queries = harness.timed(lambda: summaries.catch_up(timezone.now()), 1)
        rows.append(harness.row(f"refresh after {len(sample)} changed cases", times, queries,
                                None))
    today = today_local(now)
    client = Client()
    client.force_login(user)
    for label, kind in (("month", LAST_MONTH), ("year", LAST_12_MONTHS)):
        period = resolve(kind, today=today)
        times, queries = harness.timed(lambda p=period: selectors.dashboard(p, timezone.now()),
                                       args.repeat)
        rows.append(harness.row(f"KPI dashboard selector, {label}", times, queries,
                                TARGETS[label]))

        def page(k: str = kind) -> None:
            response = client.get("/reports/", {"period": k})
            if response.status_code != 200:
                raise harness.Refused(f"/reports/ answered {response.status_code}")

        times, queries = harness.timed(page, args.repeat)
        rows.append(harness.row(f"KPI dashboard page, {label}", times, queries,
                                TARGETS[label]))
        if args.live:
            with mock.patch("reporting.summaries.catch_up", return_value=False):
                times, queries = harness.timed(
                    lambda p=period: selectors.dashboard(p, timezone.now()), 2)
            rows.append(harness.row(f"KPI selector live (no day sums), {label}", times,
                                    queries, None))
    return rows


if __name__ == "__main__":
    harness.main_for(run)
