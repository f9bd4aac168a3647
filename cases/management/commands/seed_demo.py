"""python manage.py seed_demo [--cases N]: demo departments, users and cases."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.demo import DEMO_PASSWORD, DEMO_USERS, seed_cases, seed_reference_data
from cases.models import Case


class Command(BaseCommand):
    help = "Seed departments, one user per role and simulated cases (bulk inserts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=300,
                            help="How many cases to add (default 300; 1000000 for benchmarks).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")
        parser.add_argument("--days", type=int, default=90,
                            help="Spread cases over this many past days.")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when cases already exist (used by the run script).")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["cases"]
        if count < 0 or count > 20_000_000:
            raise CommandError("--cases must be between 0 and 20,000,000.")
        if options["if_empty"] and Case.objects.exists():
            seed_reference_data()
            self.stdout.write("Cases already exist; demo users and departments ensured.")
            return
        started = time.monotonic()
        step = max(5000, count // 20)

        def progress(done: int) -> None:
            if done % step == 0 or done == count:
                self.stdout.write(f"  {done:,} cases ({time.monotonic() - started:.0f} s)")

        seed_reference_data()
        created = seed_cases(count, seed=options["seed"], days=options["days"],
                             progress=progress if count >= 20000 else None)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Seeded {created:,} cases in {elapsed:.1f} s."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, display, role, _dept in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {role:<20} {display}")
