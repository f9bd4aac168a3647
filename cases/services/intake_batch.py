"""Intake of a batch of complaints at once (a legacy import): the same cases as
``case_intake(bulk=True)`` one after the other, in a handful of statements per batch.

A complaint is written in bulk when nothing in it depends on the complaints before it:
no earlier complaint of the batch shares its customer (phone, e-mail) or its matter
(``intake_lock_keys``), its customer needs no update, it sends no acknowledgement and has
no imported compensation, no statutory regime, and its
duplicate/group read (the same ``detect_related`` query) finds nothing to link. The others
go one by one through ``case_intake`` afterwards, when the bulk ones are written, so they
see everything an earlier complaint of the file would have shown them; except those that
share a customer or matter only with complaints written in bulk: they make the next bulk
round, which sees the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from cases.choices import NoteKind
from cases.models import Case, CaseDeadline, CaseNote, Customer, User
from cases.services import grouping, live
from cases.services.audit import AuditAction, audit_record
from cases.services.desk_config import DeskConfig, desk_config
from cases.services.errors import InvalidInput
from cases.services.intake import (
    case_intake,
    customer_match,
    format_reference,
    intake_lock_keys,
    intake_transitions,
    new_case,
    related_plan,
)
from cases.services.intake_input import IntakeData, IntakeResult
from cases.services.live import live_changed
from cases.services.statutory.clock import regime_id_for
from cases.services.transitions import log_new_rows

# An unsaved customer's stand-in id for the duplicate/group read: no case has it.
_NO_CUSTOMER = -1


@dataclass
class _Planned:
    index: int
    data: IntakeData
    customer: Customer
    customer_is_new: bool


def _candidates(items: list[IntakeData]) -> list[Customer]:
    phones = {d.customer.phone for d in items if d.customer.phone}
    emails = {d.customer.email for d in items if d.customer.email}
    if not (phones or emails):
        return []
    return list(Customer.objects.filter(Q(phone__in=phones) | Q(email__in=emails))
                .order_by("pk"))


def _case_sensitive(data: IntakeData) -> bool:
    """A matter whose upper case Python and the database may spell differently ("ß"): it
    is read on its own, by the database's rules."""
    value = data.order_ref or data.location
    return len(value.upper()) != len(value)


def _split(items: list[IntakeData], config: DeskConfig, indexes: list[int],
           ) -> tuple[list[_Planned], list[int], list[int]]:
    """Of the complaints ``indexes`` (in order): (those written in bulk now, those that go
    one by one at the end, those deferred to the next bulk round because they share a
    customer or matter only with complaints written in bulk now)."""
    known = _candidates([items[i] for i in indexes])
    bulk_keys: set[str] = set()
    single_keys: set[str] = set()
    later_keys: set[str] = set()
    bulk: list[_Planned] = []
    single: list[int] = []
    later: list[int] = []
    now = timezone.now()
    # The matters' recent cases in two reads for the whole round (None: one read each).
    matters = grouping.recent_by_matter(
        [(d.category, d.order_ref, d.location, d.received_at or now)
         for d in (items[i] for i in indexes) if not _case_sensitive(d)], config.settings)
    for index in indexes:
        data = items[index]
        keys = set(intake_lock_keys(data))
        history = data.history
        if keys & single_keys or data.acknowledge or (
                history and history.compensation_amount is not None) or (
                data.regulator_reference or regime_id_for(data, config.regimes) is not None):
            single.append(index)
            single_keys |= keys
            continue
        if keys & (bulk_keys | later_keys):
            later.append(index)
            later_keys |= keys
            continue
        phone, email = data.customer.phone, data.customer.email
        mine = [c for c in known if (phone and c.phone == phone) or (email and c.email == email)]
        customer, is_new, changed = customer_match(data.customer, mine[:20])
        plan = None
        if not changed:
            bucket = grouping.matter_bucket(data.category, data.order_ref, data.location)
            recent = None
            if matters is not None and bucket is not None and not _case_sensitive(data):
                recent = grouping.recent_for(matters[bucket], data.received_at or now,
                                             config.settings)
            plan = related_plan(data, config, customer_id=_NO_CUSTOMER if is_new else customer.pk,
                                customer_is_new=is_new, now=now, recent=recent)
        if plan is None or plan.duplicate_of_id is not None or plan.in_group:
            single.append(index)
            single_keys |= keys
            continue
        bulk.append(_Planned(index, data, customer, is_new))
        bulk_keys |= keys
    return bulk, single, later


def _reserve_case_ids(count: int) -> list[int]:
    """``count`` new case ids from the table's sequence (PostgreSQL; [] elsewhere)."""
    if connection.vendor != "postgresql" or not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)", [Case._meta.db_table, count])
        return [row[0] for row in cursor.fetchall()]


def _write(planned: list[_Planned], actor: User | None, config: DeskConfig,
           ) -> list[IntakeResult]:
    now = timezone.now()
    Customer.objects.bulk_create([p.customer for p in planned if p.customer_is_new])
    cases, deadlines = [], []
    empty = grouping.RelatedPlan()
    for p in planned:
        case, rows = new_case(actor, p.data, config, customer=p.customer, plan=empty, now=now)
        cases.append(case)
        deadlines.append(rows)
    ids = _reserve_case_ids(len(cases))
    if ids:  # the references go in with the rows
        for case, pk in zip(cases, ids, strict=True):
            case.pk, case.reference = pk, format_reference(pk, case.received_at)
    Case.objects.bulk_create(cases)
    live_changed(live.CASES)  # bulk_create sends no post_save
    if not ids:
        for case in cases:
            case.reference = format_reference(case.pk, case.received_at)
        Case.objects.bulk_update(cases, ["reference"])
    for case, rows in zip(cases, deadlines, strict=True):
        for row in rows:
            row.case = case
    CaseDeadline.objects.bulk_create([row for rows in deadlines for row in rows])
    # One summarised audit entry per bulk round, as the deadline sweep does: what was created.
    audit_record(actor=actor, action=AuditAction.BULK_CHANGE, detail={
        "intake": "batch", "created_cases": [case.pk for case in cases],
        "created_customers": [p.customer.pk for p in planned if p.customer_is_new]})
    # A plain complaint's "receive" raises its webhook events; an import's dated history none.
    for past in (False, True):
        log_new_rows([row for case, p in zip(cases, planned, strict=True)
                      if (p.data.history is not None) is past
                      for row in intake_transitions(case, p.data, actor)], events=not past)
    CaseNote.objects.bulk_create([
        CaseNote(case=case, kind=NoteKind.INTERNAL, author=actor, body=text, created_at=now)
        for case, p in zip(cases, planned, strict=True) for text in p.data.extra_notes])
    return [IntakeResult(case, created=True, duplicate_reference=None) for case in cases]


def case_intake_batch(*, actor: User | None, items: list[IntakeData],
                      ) -> list[IntakeResult | InvalidInput | DatabaseError]:
    """The result of each complaint, in order: as ``case_intake(bulk=True)`` one after the
    other would give, or the error that complaint raised (nothing of it written).

    Preconditions: inside the caller's transaction; every item passed ``validate_intake``
    and has an ``external_id`` that is new on its channel and unique in ``items`` (an
    import checks both per batch). If the bulk statements fail, every complaint goes one
    by one instead."""
    config = desk_config()
    results: list[IntakeResult | InvalidInput | DatabaseError | None] = [None] * len(items)
    single: list[int] = []
    pending = list(range(len(items)))
    while pending:  # each round writes at least its first complaint's
        bulk, alone, pending = _split(items, config, pending)
        single += alone
        if not bulk:
            continue
        try:
            with transaction.atomic():
                written = _write(bulk, actor, config)
        except DatabaseError:
            single += [p.index for p in bulk] + pending
            pending = []
        else:
            for p, result in zip(bulk, written, strict=True):
                results[p.index] = result
    for index in sorted(single):
        try:
            results[index] = case_intake(actor=actor, data=items[index], bulk=True)
        except (InvalidInput, DatabaseError) as exc:
            results[index] = exc
    return [r for r in results if r is not None]
