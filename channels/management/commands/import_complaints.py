"""python manage.py import_complaints FILE.csv --mapping MAPPING.json [--dry-run]"""

from __future__ import annotations

import csv
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels.import_outcomes import has_history
from channels.importing import ImportReport, MappingError, import_complaints, load_mapping


class Command(BaseCommand):
    help = ("Import complaints from a legacy CSV export through the intake path. Bad rows are "
            "reported and skipped; running it again creates no duplicates.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument("--mapping", required=True, metavar="MAPPING.json")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and report; write nothing.")
        parser.add_argument("--report", metavar="ERRORS.csv",
                            help="Also write the row errors to this CSV file.")

    def handle(self, *args, file: str, mapping: str, dry_run: bool, report: str | None,
               **options) -> None:
        try:
            rules = load_mapping(mapping)
            result = import_complaints(file, rules, dry_run=dry_run, progress=self._progress)
        except MappingError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from exc
        for error in result.errors:
            ext = f" [{error.external_id}]" if error.external_id else ""
            self.stdout.write(f"line {error.line}{ext}: {error.field}: {error.message}")
        if report:
            self._write_report(report, result)
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"{'DRY RUN: ' if dry_run else ''}{result.rows} rows: {verb} {result.created}, "
            f"already imported {result.existing}, not taken {result.failed}."
        )
        if has_history(rules.fields):
            self._write_outcomes(result)
        if result.failed and not dry_run:
            raise CommandError(f"{result.failed} row(s) were not imported; see the report above.")

    def _write_outcomes(self, result: ImportReport) -> None:
        """The stages set (or that would be), and the open cases already past due."""
        stages = ", ".join(f"{stage} {count}" for stage, count in sorted(result.stages.items()))
        self.stdout.write(f"{'would be in' if result.dry_run else 'in'} stage: {stages or '-'}")
        if result.past_due and result.dry_run:
            self.stdout.write(
                f"{result.past_due} open case(s) would already be past a deadline: shown "
                f"breached on the desk; one summary alert to the supervisors.")
        elif result.past_due:
            self.stdout.write(
                f"{result.past_due} open case(s) were already past a deadline: shown breached "
                f"on the desk; one summary alert went to the supervisors.")

    def _progress(self, report: ImportReport) -> None:
        if report.rows % 1000 < 500 and report.rows >= 1000 and sys.stderr.isatty():
            self.stderr.write(f"... {report.rows} rows")

    def _write_report(self, path: str, result: ImportReport) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "external_id", "field", "message"])
            for e in result.errors:
                writer.writerow([e.line, e.external_id, e.field, e.message])
