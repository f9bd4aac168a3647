"""python manage.py kpi_summaries [--rebuild] [--verify DAYS]: keep the dashboard's KPI day
sums (reporting.summaries) up to date, rebuild them, or check them against the cases."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from reporting import summaries
from reporting.periods import today_local


class Command(BaseCommand):
    help = ("Bring the KPI day sums up to date (what the beat task does every minute), "
            "rebuild them from the cases, or verify them against live aggregates.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true",
                            help="Recompute every case from scratch.")
        parser.add_argument("--verify", type=int, metavar="DAYS", default=0,
                            help="Then check the queue triggers and compare the last DAYS local "
                                 "days with live aggregates over the cases; exit with an "
                                 "error on any difference.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verify"] < 0 or options["verify"] > 5000:
            raise CommandError("--verify takes a number of days between 1 and 5000 (0: none).")
        now = timezone.now()
        started = time.monotonic()
        if options["rebuild"]:
            result = summaries.rebuild(now=now)
        else:
            result = summaries.refresh(now=now)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{'Rebuilt' if result.rebuilt else 'Refreshed'}: {result.cases:,} cases in "
            f"{result.batches} batches, {elapsed:.1f} s."
        )
        if options["verify"]:
            broken = summaries.trigger_differences()
            if broken:
                for line in broken:
                    self.stderr.write(line)
                raise CommandError("The KPI queue triggers are not as the KPIs need them: "
                                   "changes would not reach the day sums.")
            last = today_local(now) + timedelta(days=400)  # revisits fall due ahead
            first = today_local(now) - timedelta(days=options["verify"] - 1)
            started = time.monotonic()
            diffs = summaries.compare(first, last, now)
            elapsed = time.monotonic() - started
            if diffs:
                for line in diffs[:50]:
                    self.stderr.write(line)
                raise CommandError(f"{len(diffs)} differences between the day sums and the "
                                   f"cases from {first} to {last}.")
            self.stdout.write(self.style.SUCCESS(
                f"Day sums agree with the cases from {first} to {last} ({elapsed:.1f} s)."))
