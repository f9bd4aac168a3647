"""python manage.py ingest_email FILE.eml ...: feed saved e-mails through e-mail intake."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels.email_intake import ingest_email


class Command(BaseCommand):
    help = "Process .eml files as inbound complaint e-mail (each Message-ID once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE.eml")

    def handle(self, *args, files: list[str], **options) -> None:
        failures = 0
        for name in files:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{name}: cannot read: {exc.strerror or exc}")
                failures += 1
                continue
            outcome = ingest_email(raw)
            where = f" -> {outcome.case.reference}" if outcome.case is not None else ""
            detail = f" ({outcome.detail})" if outcome.detail else ""
            self.stdout.write(f"{name}: {outcome.outcome}{where}{detail}")
            if outcome.outcome == "rejected":
                failures += 1
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) were not taken.")
