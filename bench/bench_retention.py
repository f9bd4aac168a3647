"""Measure the retention sweep (issue 19 item 2) on PostgreSQL.

Seeds N closed cases (default 20,000) of N/2 customers, each case with two notes, two
transition-log rows and one notice holding the customer's contact data; `--past` percent of
them closed four years ago (past the default 36-month rule), the rest last month. Then times
  1. the selection of the cases past retention (and prints its plan: the partial index),
  2. the sweep (batches of RETENTION_SWEEP_BATCH), with its query count per batch,
  3. a sweep when nothing is due (the steady state, every night).
Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_life \\
        python bench/bench_retention.py [--cases 20000] [--past 50]

The database named in DATABASE_URL is migrated and its case tables are REPLACED.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")


def seed(total: int, past_percent: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from cases.choices import Category, ChannelKind, NoteKind, Stage
    from cases.models import Case, CaseNote, CaseTransition, Customer, Notice

    with connection.cursor() as cur:
        cur.execute("TRUNCATE cases_case, cases_customer, cases_notice, cases_casenote, "
                    "cases_casetransition RESTART IDENTITY CASCADE")
    now = timezone.now()
    customers = Customer.objects.bulk_create([
        Customer(name=f"客户{i}", phone=f"139{i:08d}", email=f"c{i}@example.com")
        for i in range(total // 2)
    ], batch_size=5000)
    past = total * past_percent // 100
    cases = Case.objects.bulk_create([
        Case(reference=f"B{i:09d}", tracking_code=f"T{i:09d}", customer=customers[i // 2],
             channel=ChannelKind.WEB, category=list(Category.values)[i % 8],
             subject=f"{customers[i // 2].name}的投诉", received_at=now,
             description=f"电话 {customers[i // 2].phone}，邮箱 {customers[i // 2].email}",
             stage=Stage.CLOSED,
             closed_at=now - timedelta(days=1460 if i < past else 30))
        for i in range(total)
    ], batch_size=5000)
    CaseNote.objects.bulk_create([
        CaseNote(case=case, kind=NoteKind.CONTACT, body=f"致电 {case.customer.phone}",
                 created_at=now) for case in cases for _ in range(2)
    ], batch_size=5000)
    CaseTransition.objects.bulk_create([
        CaseTransition(case=case, field="stage", name="close", source="a", target="b",
                       note=f"{case.customer.name} 满意", at=now)
        for case in cases for _ in range(2)
    ], batch_size=5000)
    Notice.objects.bulk_create([
        Notice(case=case, kind="received", channel="email", recipient=case.customer.email,
               body=f"尊敬的{case.customer.name}", idempotency_key=f"b:{case.pk}",
               context={"customer_name": case.customer.name}, created_at=now)
        for case in cases
    ], batch_size=5000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--past", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cases.services.retention import cases_past_retention, retention_sweep

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(args.cases, args.past)
    print(f"seeded {args.cases:,} cases in {time.perf_counter() - started:.1f} s")

    selection = cases_past_retention(timezone.now()).order_by("closed_at", "pk")
    print(selection.values_list("pk", flat=True)[:settings.RETENTION_SWEEP_BATCH].explain())
    started = time.perf_counter()
    due = selection.count()
    print(f"selection: {due:,} cases past retention, counted in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = retention_sweep()
        elapsed = time.perf_counter() - started
    batches = max(1, -(-result.cases // settings.RETENTION_SWEEP_BATCH))
    print(f"sweep: {result.cases:,} cases and {result.customers:,} customers anonymised in "
          f"{elapsed:.1f} s ({result.cases / elapsed:,.0f} cases/s), {len(queries)} queries "
          f"in {batches} batches of {settings.RETENTION_SWEEP_BATCH} "
          f"({len(queries) / batches:.0f} per batch); rows: {result.rows}")
    started = time.perf_counter()
    idle = retention_sweep()
    print(f"idle sweep: {idle.cases} cases in {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
