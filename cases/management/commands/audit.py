"""python manage.py audit verify: walk the audit trail's hash chain."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.audit.verify import verify_chain


class Command(BaseCommand):
    help = ("Audit trail tools. 'verify' recomputes every entry's hash and link and names the "
            "first entry that was changed, removed or inserted (exit status 1).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Verify the hash chain.")
        verify.add_argument("--batch-size", type=int, default=10_000,
                            help="Entries read per query (default 10000).")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch_size"]
        if not 1 <= batch <= 1_000_000:
            raise CommandError("--batch-size must be between 1 and 1,000,000.")
        started = time.monotonic()
        result = verify_chain(batch=batch)
        seconds = time.monotonic() - started
        problem = result.problem
        if problem is not None:
            where = f"#{problem.seq}" + (f" (id {problem.id})" if problem.id is not None else "")
            raise CommandError(
                f"Audit trail BROKEN at entry {where}: {problem.kind}; {problem.reason}. "
                f"{result.checked:,} entries before it verified."
            )
        self.stdout.write(
            f"Audit trail intact: {result.checked:,} entries verified in {seconds:.1f} s; "
            f"last entry #{result.last_seq}, hash {result.last_hash}."
        )
