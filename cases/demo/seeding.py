"""Seeding: simulated customers and cases bulk-inserted in batches (COPY on PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import Promise

from cases.models import (
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Customer,
    Department,
    Revisit,
    RootCause,
)
from cases.services.clocks import policy_for

from .reference import seed_reference_data
from .simulation import Simulation, simulated_customer


def _batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def seed_cases(count: int, *, seed: int = 7, days: int = 90, batch: int = 5000,
               rich: bool | None = None, progress=None) -> int:
    """Bulk-insert ``count`` simulated cases. Below 20,000 cases each gets its full history
    (transitions, notes, compensation, revisits); above, only the case and its open deadline
    rows."""
    rng = random.Random(seed)
    now = timezone.now()
    staff = seed_reference_data()
    depts = list(Department.objects.filter(liaison__isnull=False))
    root_causes = list(RootCause.objects.filter(is_active=True))
    policies = {t: policy_for(t) for t in (1, 2, 3)}
    sim = Simulation(rng, now, days, policies)
    sim.rich = count <= 20000 if rich is None else rich
    customers_needed = max(1, count // 3)
    first_customer = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
                      or 0) + 1
    for start, size in _batches(customers_needed, batch):
        customers = [simulated_customer(rng, first_customer + start + i) for i in range(size)]
        for offset, customer in enumerate(customers):
            customer.pk = first_customer + start + offset
        bulk_insert(Customer, customers, batch)
    customer_ids = range(first_customer, first_customer + customers_needed)
    next_pk = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    created = 0
    for start, size in _batches(count, batch):
        with transaction.atomic():
            cases, deadlines, transitions, notes, comps, revisits = [], [], [], [], [], []
            requests: list[tuple[CollaborationRequest, CaseDeadline | None]] = []
            for i in range(size):
                c, d, t, n, cp, r, rq = sim.case(next_pk + start + i, rng.choice(customer_ids),
                                                 staff, depts, root_causes)
                cases.append(c)
                deadlines += d
                transitions += t
                notes += n
                comps += cp
                revisits += r
                requests += rq
            for model, rows in ((Case, cases), (CaseDeadline, deadlines),
                                (CaseTransition, transitions), (CaseNote, notes),
                                (Compensation, comps), (Revisit, revisits)):
                bulk_insert(model, rows, batch)
            # bulk_create gives the requests their keys, which their clocks refer to.
            CollaborationRequest.objects.bulk_create([r for r, _ in requests], batch_size=batch)
            for request, clock in requests:
                if clock is not None:
                    clock.request_id = request.pk
            bulk_insert(CaseDeadline, [c for _, c in requests if c is not None], batch)
        created += size
        if progress:
            progress(created)
    _reset_sequences()
    return created


def bulk_insert(model: type, objs: list, batch: int) -> None:
    """Insert model instances fast: COPY on PostgreSQL, bulk_create elsewhere. Primary keys
    left unset are filled by the database. Side effect: none beyond the rows (no signals,
    no ``save()``)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch)
        return
    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and getattr(objs[0], f.attname) is None)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            # pre_save fills auto_now(_add) fields as bulk_create would.
            copy.write_row([_plain(f.pre_save(obj, True)) for f in fields])


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Promise) else value


def _reset_sequences() -> None:
    """Explicit primary keys were inserted: move the database sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), [Case, Customer])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
