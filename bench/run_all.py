"""The whole benchmark suite on the seeded database DATABASE_URL names, as one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed python manage.py seed_demo \\
        --cases 1000000                                   # once (records its own figures)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed python bench/run_all.py \\
        [--yes] [--json runs/today.json] [--compare runs/before.json] [--seed-too 1000000]

Runs, in one process, ``run(argv)`` of bench_desk (desk home, lists at page 1 and 1,000,
filtered lists, supervision queues, search of every kind, the case page), bench_reports (KPI
dashboard, month and year), bench_sweep (the deadline sweep with 1 % due, alerts included:
it changes data, so only with ``--yes``; skipped otherwise) and bench_inline / bench_live when
those modules exist, then prints one table: page kind, median, p95, queries and the target
beside it. The seeding row comes from the last recorded ``seed_demo`` run on this database
(``--seed-too N`` seeds N more first, which needs ``--yes`` on a database holding cases).
``--json PATH`` writes the rows (with the date, machine, load and case count) for comparing
runs; ``--compare OLD.json`` prints each row's p95 and median against the old run's as a
ratio. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import platform
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

try:
    from bench import harness
except ImportError:
    import harness  # type: ignore[no-redef]

SEED_TARGET_MS = 180_000  # seeding 1,000,000 cases: at most 3 minutes (issue 18)
OPTIONAL = ("bench_inline", "bench_live")  # written on other branches; included when present


def _module(name: str):
    """``bench.<name>`` (or ``<name>`` when bench/ itself is on the path); None if absent."""
    for qualified in (f"bench.{name}", name):
        try:
            return importlib.import_module(qualified)
        except ModuleNotFoundError as missing:
            if missing.name not in (qualified, "bench"):
                raise
    return None


def _run_module(name: str, argv: list[str], quiet: bool) -> list[harness.Row]:
    module = _module(name)
    if module is None:
        return []
    out = io.StringIO()
    try:
        with redirect_stdout(out if quiet else sys.stdout):
            return list(module.run(argv))
    except SystemExit as stop:  # a refusal, or an argparse error: say so in the table
        reason = stop.code if isinstance(stop.code, str) else f"exit {stop.code}"
        return [{"name": f"{name}: not run", "median_ms": None, "p95_ms": None,
                 "queries": None, "target_ms": None, "note": str(reason)[:160]}]


def seed_row(cases: int) -> harness.Row:
    """The last recorded seed_demo run on this database."""
    from cases.demo import last_seed_record

    record = last_seed_record()
    if record is None:
        return {"name": "seeding (no recorded seed_demo run)", "median_ms": None,
                "p95_ms": None, "queries": None, "target_ms": SEED_TARGET_MS, "note": ""}
    ms = record["seconds"] * 1000
    return {"name": f"seeding {record['cases']:,} cases (seed_demo)", "median_ms": ms,
            "p95_ms": ms, "queries": None,
            "target_ms": SEED_TARGET_MS if record["cases"] >= 1_000_000 else None,
            "note": f"{record['at'][:16]}, load {record['load']}, data "
                    f"{record['load_seconds']:.0f} s + indexes {record['index_seconds']:.0f} s "
                    f"+ KPI sums {record['kpi_seconds']:.0f} s"}


def compare(rows: list[harness.Row], old_path: Path) -> str:
    old = {r["name"]: r for r in json.loads(old_path.read_text())["rows"]}
    lines = [f"{'compared with ' + old_path.name:44} {'p95 new/old':>12} {'median new/old':>15}"]
    for r in rows:
        before = old.get(r["name"])
        if not before:
            continue

        def ratio(key: str, now: harness.Row = r, then: harness.Row = before) -> str:
            if not now.get(key) or not then.get(key):
                return "-"
            return f"{now[key] / then[key]:.2f}x"

        lines.append(f"{r['name'][:44]:44} {ratio('p95_ms'):>12} {ratio('median_ms'):>15}")
    return "\n".join(lines)


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yes", action="store_true",
                        help="allow the parts that change data (the sweep, --seed-too)")
    parser.add_argument("--runs", type=int, default=40, help="requests per page kind")
    parser.add_argument("--seed-too", type=int, default=0, metavar="N",
                        help="seed N cases first (seed_demo) and report that run")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    parser.add_argument("--compare", type=Path, help="an earlier --json file")
    parser.add_argument("--verbose", action="store_true", help="show each script's output")
    args = parser.parse_args(argv)
    harness.setup()
    from django.core.management import call_command

    if args.seed_too:
        seed_args = ["seed_demo", "--cases", str(args.seed_too)]
        if harness.require_cases(0):
            harness.require_yes(args.yes, f"adds {args.seed_too:,} cases (seed_demo --append)")
            seed_args.append("--append")
        call_command(*seed_args)
    cases = harness.require_cases()
    quiet = not args.verbose
    started = time.monotonic()
    rows = _run_module("bench_desk", ["--runs", str(args.runs)], quiet)
    rows += _run_module("bench_reports", [], quiet)
    if args.yes:
        rows += _run_module("bench_sweep", ["--yes"], quiet)
    else:
        rows.append({"name": "deadline sweep, 1 % due, alerts included", "median_ms": None,
                     "p95_ms": None, "queries": None, "target_ms": 1000,
                     "note": "skipped: it moves clocks (changes data); pass --yes"})
    for name in OPTIONAL:
        rows += _run_module(name, [], quiet)
    rows.append(seed_row(cases))
    print(harness.table(rows))
    print(f"({harness.database_label()}, {cases:,} cases; {harness.load()}; "
          f"{time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": harness.database_label(), "cases": cases, "load": os.getloadavg(),
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
            "rows": rows}, indent=1, default=str))
        print(f"rows written to {args.json}")
    if args.compare:
        print(compare(rows, args.compare))
    return rows


if __name__ == "__main__":
    try:
        run(sys.argv[1:])
    except harness.Refused as refused:
        print(refused.code, file=sys.stderr)
        sys.exit(2)
