"""Benchmark of the audit trail: bulk-create N chained entries, then time ``audit verify``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed \\
        python bench/bench_audit.py [--entries 1000000 --yes]

On the database DATABASE_URL names, as it is. With ``--entries N --yes`` it first appends N
entries to the chain (continuing it from its last entry): field changes on cases with old
and new values, views of customer data and exports, in the proportions a busy desk
produces; hashes are computed as ``audit_record`` computes them, rows go in with COPY on
PostgreSQL (``bulk_create`` elsewhere). Then it runs
``python manage.py audit verify`` and prints the time to insert and to verify, and the rate.
Prints figures; asserts nothing (see bench/ in STYLE.md). Target from the issue: verifying
1M entries in under a minute. Runnable on a tiny SQLite database (tests run it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

try:
    from bench import harness  # noqa: E402
except ImportError:
    import harness  # type: ignore[no-redef]  # noqa: E402

import django  # noqa: E402

if __name__ == "__main__":
    django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash, plain  # noqa: E402
from cases.models.audit import AuditAction, AuditEntry  # noqa: E402

FIELDS = ["subject", "urgency", "handler", "sla_state", "solution", "root_cause"]


def _entry(seq: int, prev: str, at, n: int) -> AuditEntry:
    kind = n % 10
    case_id = 1 + n % 50_000
    if kind < 7:  # a field change on a case
        field = FIELDS[n % len(FIELDS)]
        row = AuditEntry(action=AuditAction.CHANGE, target_type="cases.Case",
                         target_id=str(case_id), target_repr=f"TS-2026-{case_id:06d}",
                         case_id=case_id, changes={field: [f"old {n}", f"new {n}"]}, detail={})
    elif kind < 9:  # an agent opening the workspace
        row = AuditEntry(action=AuditAction.VIEW_PERSONAL, target_type="cases.Customer",
                         target_id=str(case_id // 3), target_repr="王**", case_id=case_id,
                         changes={}, detail={"where": "workspace", "fields": ["phone", "email"]})
    else:
        row = AuditEntry(action=AuditAction.EXPORT, changes={}, detail={
            "what": "cases", "format": "csv", "rows": n % 5000, "filters": {"queue": ["open"]}})
    row.seq, row.at, row.prev_hash = seq, at, prev
    row.actor_id, row.actor_name = 1 + n % 40, f"agent{n % 40}"
    row.changes, row.detail = plain(row.changes), plain(row.detail)
    row.hash = entry_hash(prev, tuple(getattr(row, f) for f in HASHED_FIELDS))
    return row


def _insert(rows: list[AuditEntry]) -> None:
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_create(rows, batch_size=2000)
        return
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {AuditEntry._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([f.get_db_prep_save(getattr(row, f.attname), connection)
                            for f in fields])


def seed(count: int, batch: int = 20_000, out=sys.stdout) -> float:
    """Append ``count`` entries to the chain; returns the seconds taken."""
    started = time.monotonic()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = last if last else (0, GENESIS_HASH)
    at = timezone.now() - timedelta(days=365)
    done = 0
    while done < count:
        rows = []
        for n in range(done, min(count, done + batch)):
            seq += 1
            row = _entry(seq, prev, at + timedelta(seconds=n * 30), n)
            prev = row.hash
            rows.append(row)
        with transaction.atomic():
            _insert(rows)
        done += len(rows)
        if done % 200_000 == 0 or done == count:
            print(f"  {done:,} entries ({time.monotonic() - started:.0f} s)", file=out)
    return time.monotonic() - started


def measure(entries: int, *, batch: int = 10_000, out=sys.stdout) -> dict[str, float]:
    inserted = seed(entries, out=out) if entries else 0.0
    total = AuditEntry.objects.count()
    report = StringIO()
    started = time.monotonic()
    call_command("audit", "verify", "--batch-size", str(batch), stdout=report)
    verified = time.monotonic() - started
    figures = {"entries": total, "insert_s": inserted, "verify_s": verified,
               "per_second": total / verified if verified else 0.0}
    print(report.getvalue().strip(), file=out)
    print(f"{connection.vendor}: appended {entries:,} in {inserted:.1f} s; verified "
          f"{total:,} in {verified:.1f} s ({figures['per_second']:,.0f} entries/s)", file=out)
    return figures


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=0,
                        help="append this many entries first (changes data: --yes)")
    parser.add_argument("--batch-size", type=int, default=10_000, help="verify's batch")
    parser.add_argument("--yes", action="store_true", help="allow --entries")
    args = parser.parse_args(argv)
    harness.setup()
    if args.entries:
        harness.require_yes(args.yes, f"appends {args.entries:,} entries to the audit trail")
    figures = measure(args.entries, batch=args.batch_size)
    return [harness.row(f"audit verify ({figures['entries']:,.0f} entries)",
                        [figures["verify_s"] * 1000], None, None,
                        note=f"{figures['per_second']:,.0f} entries/s")]


if __name__ == "__main__":
    harness.main_for(run)
