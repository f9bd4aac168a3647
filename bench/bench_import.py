"""Legacy import rate: rows per second of ``import_complaints`` into the database DATABASE_URL
names (seeded by seed_demo: many cases already), with a location on every row (the
location-keyed matter lookup of duplicate and group detection does real work).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed \\
        python bench/bench_import.py --rows 5000 --yes

The import adds cases, so it needs ``--yes`` (``--dry-run`` changes nothing). It writes a
CSV of ``--rows`` new complaints (a realistic mix: repeat customers, shared shops, so
duplicates and group complaints are found), imports it
through the management command's code path and prints rows/s. ``--profile`` prints the
top of a cProfile of the import. ``--dry-run`` measures the dry run instead. Prints
figures; asserts nothing. Runs on a tiny SQLite database too:
``DATABASE_URL=sqlite:////tmp/b.sqlite3 python bench/bench_import.py --rows 50 --yes``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import pstats
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")
os.environ.setdefault("DEBUG", "0")

try:
    from bench import harness  # noqa: E402
except ImportError:
    import harness  # type: ignore[no-redef]  # noqa: E402

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from cases.models import Case  # noqa: E402
from channels.importing import import_complaints, parse_mapping  # noqa: E402

SHOPS = 3000
CATEGORIES = ["delivery", "billing", "product_quality", "after_sales", "service_attitude"]
MAPPING = {
    "timezone": settings.TIME_ZONE,
    "fields": {
        "external_id": {"template": "BENCH-{id}"},
        "received_at": {"column": "received", "formats": ["%Y-%m-%d %H:%M:%S"]},
        "category": {"column": "category", "default": "other"},
        "subject": {"column": "subject"},
        "description": {"lines": ["{body}", "[Shop: {shop}]"]},
        "location": {"column": "shop"},
        "customer.name": {"column": "name"},
        "customer.phone": {"column": "phone"},
    },
    "notes": [{"template": "Legacy status: {status}"}],
}
# --outcomes: the legacy outcome too (imported history: stage, dated transitions, clocks)
OUTCOMES = {
    "stage": {"column": "status", "map": {"open": "in_progress", "closed": "closed",
                                          "resolved": "resolved"}},
    "resolved_at": {"column": "resolved", "formats": ["%Y-%m-%d %H:%M:%S"]},
    "closed_at": {"column": "closed", "formats": ["%Y-%m-%d %H:%M:%S"]},
    "company": {"value": "Bench shops"},
}


def shop(i: int) -> str:
    return f"Shop {i % SHOPS:04d}, Main Street"


def write_rows(path: Path, rows: int, run: str, seed: int) -> None:
    rng = random.Random(seed)
    now = time.time()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "received", "category", "subject", "body", "shop", "name",
                         "phone", "status", "resolved", "closed"])
        zone = ZoneInfo(settings.TIME_ZONE)

        def local(at: float) -> str:
            return datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M:%S")

        # in the order of arrival, as legacy systems export (by id or date), over 30 days
        times = sorted(now - rng.uniform(0, 30 * 86400) for _i in range(rows))
        for i, at in enumerate(times):
            customer = rng.randrange(2 * rows)  # some customers complain twice or more
            status = rng.choice(["open", "closed", "resolved"]) if at < now - 86400 else "open"
            done = local(at + rng.uniform(600, 86400))
            writer.writerow([
                f"{run}-{i}", local(at), rng.choice(CATEGORIES), f"Complaint {i} about the shop",
                "The parcel arrived damaged and nobody answered the phone. " * 3,
                shop(rng.randrange(SHOPS * 3)), f"Customer {customer}",
                f"139{customer:08d}", status, done if status == "resolved" else "",
                done if status == "closed" else "",
            ])


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="Rows to import.")
    parser.add_argument("--yes", action="store_true",
                        help="allow the import (adds cases; a dry run changes nothing)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--outcomes", action="store_true",
                        help="Map the legacy outcome too (stage, resolved/closed times).")
    args = parser.parse_args(argv)
    harness.setup()
    if not args.dry_run:
        harness.require_yes(args.yes, f"imports {args.rows:,} complaints (new cases)")
    run = f"{int(time.time())}"
    seed = args.seed if args.seed is not None else int(run)
    existing = Case.objects.count()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "bench.csv"
        write_rows(data, args.rows, run, seed)
        raw = json.loads(json.dumps(MAPPING))
        if args.outcomes:
            raw["fields"].update(OUTCOMES)
        mapping = parse_mapping(raw)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = import_complaints(data, mapping, dry_run=args.dry_run)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    print(f"{connection.vendor}, {existing:,} cases before; {report.rows:,} rows "
          f"({'dry run' if args.dry_run else 'import'}"
          f"{', with outcomes' if args.outcomes else ''}): created {report.created:,}, "
          f"already there {report.existing:,}, failed {report.failed:,}")
    print(f"{report.rows / elapsed:.0f} rows/s ({elapsed:.1f} s)")
    if report.errors:
        print("first errors:", report.errors[:3])
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return [harness.row(f"import_complaints ({'dry run' if args.dry_run else 'import'})",
                        [elapsed * 1000 / max(report.rows, 1)], None, None,
                        note=f"{report.rows / elapsed:.0f} rows/s, per row above")]


if __name__ == "__main__":
    harness.main_for(run)
