"""python manage.py import_complaints FILE.csv --mapping MAPPING.json [--dry-run]

Exit codes: 0 every row imported (or would be) or was there already; 1 some rows were not
taken (the others were imported; in a dry run too); 2 the mapping or the file is unusable
and nothing was read; 130 interrupted (what was committed stays: run it again to resume).
"""

from __future__ import annotations

import csv
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import translation
from django.utils.translation import gettext as _

from channels.import_outcomes import has_history
from channels.importing import ImportReport, MappingError, import_complaints, load_mapping

EXIT_ROWS_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130


class Progress:
    """A one-line progress display with the rate and the time left, on a terminal only."""

    def __init__(self, stream: OutputWrapper, *, every: float = 0.5) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.every = every
        self.shown = 0.0
        self.active = stream.isatty()

    def __call__(self, report: ImportReport) -> None:
        now = time.monotonic()
        if not self.active or (now - self.shown < self.every and report.position < report.size):
            return
        self.shown = now
        self.stream.write("\r" + self.line(report, now - self.started) + "\033[K", ending="")
        self.stream.flush()

    @staticmethod
    def line(report: ImportReport, elapsed: float) -> str:
        share = report.position / report.size if report.size else 1.0
        rate = report.rows / elapsed if elapsed > 0 else 0.0
        left = elapsed * (1 - share) / share if share > 0 else 0.0
        minutes, seconds = divmod(int(left + 0.5), 60)
        return (_("%(rows)d rows (%(share)d%%), %(rate).0f rows/s, about %(minutes)d min "
                  "%(seconds)02d s left") % {"rows": report.rows, "share": int(share * 100),
                                             "rate": rate, "minutes": minutes,
                                             "seconds": seconds})

    def finish(self) -> None:
        if self.active and self.shown:
            self.stream.write("")


class Command(BaseCommand):
    help = ("Import complaints from a legacy CSV export through the intake path. Bad rows are "
            "reported and skipped; running it again creates no duplicates and resumes an "
            "interrupted import. Exit status: 0 all rows taken, 1 some rows not taken (dry "
            "runs too), 2 unusable mapping or file, 130 interrupted.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument("--mapping", required=True, metavar="MAPPING.json")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and report; write nothing.")
        parser.add_argument("--report", metavar="ERRORS.csv",
                            help="Also write the row errors to this CSV file.")
        parser.add_argument("--language", default=settings.LANGUAGE_CODE,
                            choices=[code for code, _name in settings.LANGUAGES],
                            help="Language of the messages (default: LANGUAGE_CODE).")

    def handle(self, *args: Any, file: str, mapping: str, dry_run: bool, report: str | None,
               language: str, **options: Any) -> None:
        with translation.override(language):
            self._run(file, mapping, dry_run, report)

    def _run(self, file: str, mapping: str, dry_run: bool, report_path: str | None) -> None:
        progress = Progress(self.stderr)
        try:
            rules = load_mapping(mapping)
            result = import_complaints(file, rules, dry_run=dry_run, progress=progress)
        except MappingError as exc:
            raise CommandError(str(exc), returncode=EXIT_UNUSABLE) from exc
        except OSError as exc:
            raise CommandError(_("cannot read %(file)s: %(error)s")
                               % {"file": file, "error": exc.strerror or exc},
                               returncode=EXIT_UNUSABLE) from exc
        except KeyboardInterrupt as exc:
            progress.finish()
            raise CommandError(_("interrupted: the rows imported so far are kept; run the same "
                                 "command again to resume"), returncode=EXIT_INTERRUPTED) from exc
        progress.finish()
        for error in result.errors:
            ext = f" [{error.external_id}]" if error.external_id else ""
            self.stdout.write(_("line %(line)d%(id)s: %(field)s: %(message)s")
                              % {"line": error.line, "id": ext, "field": error.field,
                                 "message": error.message})
        for line in result.fallbacks.summary():
            self.stdout.write(line)
        if report_path:
            self._write_report(report_path, result)
        values = {"rows": result.rows, "created": result.created,
                  "existing": result.existing, "failed": result.failed}
        self.stdout.write(
            _("DRY RUN: %(rows)d rows: would create %(created)d, already imported "
              "%(existing)d, not taken %(failed)d.") % values if dry_run else
            _("%(rows)d rows: created %(created)d, already imported %(existing)d, not taken "
              "%(failed)d.") % values)
        if has_history(rules.fields):
            self._write_outcomes(result)
        if result.failed:
            raise CommandError(_("%(count)d row(s) were not imported; see the report above.")
                               % {"count": result.failed}, returncode=EXIT_ROWS_FAILED)

    def _write_outcomes(self, result: ImportReport) -> None:
        """The stages set (or that would be), and the open cases already past due."""
        stages = ", ".join(f"{stage} {count}" for stage, count in sorted(result.stages.items()))
        self.stdout.write((_("would be in stage: %(stages)s") if result.dry_run else
                           _("in stage: %(stages)s")) % {"stages": stages or "-"})
        if result.past_due and result.dry_run:
            self.stdout.write(_("%(count)d open case(s) would already be past a deadline: "
                                "shown breached on the desk; one summary alert to the "
                                "supervisors.") % {"count": result.past_due})
        elif result.past_due:
            self.stdout.write(_("%(count)d open case(s) were already past a deadline: shown "
                                "breached on the desk; one summary alert went to the "
                                "supervisors.") % {"count": result.past_due})

    def _write_report(self, path: str, result: ImportReport) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "external_id", "field", "message"])
            for e in result.errors:
                writer.writerow([e.line, e.external_id, e.field, e.message])
