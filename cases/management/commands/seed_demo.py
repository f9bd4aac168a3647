"""python manage.py seed_demo [--cases N]: demo departments, users and a working day's cases
with their history (see cases.demo)."""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    SIMULATED,
    record_seed,
    seed_cases,
    seed_reference_data,
)
from cases.models import Case


class Command(BaseCommand):
    help = ("Seed departments, one user per role and simulated cases with their history, "
            "shaped relative to now (bulk inserts; COPY on PostgreSQL).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=300,
                            help="How many cases to add (default 300; 1000000 for benchmarks).")
        parser.add_argument("--seed", type=int, default=7,
                            help="Random seed: the same seed writes the same data.")
        parser.add_argument("--days", type=int, default=90,
                            help="Spread cases over this many past days.")
        parser.add_argument("--workers", type=int, default=0,
                            help="Processes writing chunks (PostgreSQL; default: one per CPU).")
        parser.add_argument("--simulate", type=int, default=0,
                            help="PostgreSQL: above this many cases, simulate about this many "
                                 "in Python and copy them in the database to fill the rest "
                                 "(default 10000; more gives more variety and takes longer).")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when cases already exist (used by the run script).")
        parser.add_argument("--append", "--yes", action="store_true", dest="append",
                            help="Add cases to a database that already has some.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["cases"]
        if count < 0 or count > 20_000_000:
            raise CommandError("--cases must be between 0 and 20,000,000.")
        if options["days"] < 1 or options["days"] > 3650:
            raise CommandError("--days must be between 1 and 3650.")
        if options["simulate"] < 0:
            raise CommandError("--simulate must be a positive number of cases.")
        existing = Case.objects.order_by().count()
        if existing and options["if_empty"]:
            seed_reference_data()
            self.stdout.write("Cases already exist; demo users and departments ensured.")
            return
        if existing and not options["append"]:
            raise CommandError(
                f"The database already holds {existing:,} cases: nothing written. Pass "
                "--append (or --yes) to add more, or --if-empty to only ensure the demo users.")
        started = time.monotonic()
        last = {"at": 0.0}

        def progress(kind: str, done: int, total: int) -> None:
            now = time.monotonic()
            if kind.startswith(("index", "copies")):
                done_word = "rebuilt" if kind.startswith("index") else "written"
                self.stdout.write(f"  {kind} {done_word} ({now - started:.0f} s)")
                return
            if done < total and now - last["at"] < 5:
                return
            last["at"] = now
            elapsed = now - started
            rate = done / elapsed if elapsed else 0
            left = (total - done) / rate if rate else 0
            self.stdout.write(f"  {kind}: {done:,} of {total:,} ({rate:,.0f}/s, "
                              f"{elapsed:.0f} s, about {left:.0f} s left)")

        result = seed_cases(count, seed=options["seed"], days=options["days"],
                            workers=options["workers"] or os.cpu_count() or 1,
                            progress=progress, simulated=options["simulate"] or SIMULATED)
        elapsed = time.monotonic() - started
        record_seed(result, elapsed)
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {result.cases:,} cases and {result.customers:,} customers in "
            f"{elapsed:.1f} s (load {result.load_seconds:.1f} s with {result.workers} "
            f"process(es), indexes and statistics {result.index_seconds:.1f} s, KPI day sums "
            f"{result.kpi_seconds:.1f} s; {result.simulated:,} cases simulated, the others "
            f"copies of them)."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, display, role, _dept in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {role:<20} {display}")
