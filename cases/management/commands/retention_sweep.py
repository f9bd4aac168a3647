"""python manage.py retention_sweep [--dry-run]: anonymise the cases past retention now (what
the nightly task does), or only count them per category."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count
from django.utils import timezone

from cases.services.retention import cases_past_retention, retention_sweep


class Command(BaseCommand):
    help = ("Anonymise the cases past their category's retention and not under a legal hold "
            "(the nightly task), or with --dry-run count them per category.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Count the cases per category; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            rows = (cases_past_retention(timezone.now()).order_by().values("category")
                    .annotate(n=Count("pk")).order_by("category"))
            total = 0
            for row in rows:
                self.stdout.write(f"{row['category']}: {row['n']:,}")
                total += row["n"]
            self.stdout.write(f"{total:,} cases past retention (nothing changed).")
            return
        result = retention_sweep()
        self.stdout.write(self.style.SUCCESS(
            f"{result.cases:,} cases and {result.customers:,} customers anonymised."))
