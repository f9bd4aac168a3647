"""Anonymising a batch of cases, and their customers once none of their cases keeps personal
data. Bulk: a fixed number of queries per batch whatever its size (one read and one bulk
update per table of ``fields.PARTS``), in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef

from cases.masking import MASK
from cases.models import Case, CaseAttachment, Customer
from cases.services.audit import AuditRecordData, audit_record_many

from .bulk_update import update_rows
from .fields import CASE_FIELDS, CUSTOMER_FIELDS, PARTS, How, Part
from .scrubbing import Scrubber, contact_literals, digest


@dataclass
class Anonymised:
    cases: int = 0
    customers: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, other: Anonymised) -> None:
        self.cases += other.cases
        self.customers += other.customers
        for label, n in other.rows.items():
            self.rows[label] = self.rows.get(label, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "customers": self.customers, "rows": dict(self.rows)}


def _new_value(how: How, value: Any, scrubber: Scrubber) -> Any:
    if how is How.CLEAR:
        return "" if isinstance(value, str) else value
    if how is How.DIGEST:
        return digest(value or "")
    if how is How.JSON:
        return scrubber.json(value)
    return scrubber.text(value)


def _fit(model: type[models.Model], name: str, value: Any) -> Any:
    """A scrubbed value may grow (a two-character name becomes three): keep it in the column."""
    limit = getattr(model._meta.get_field(name), "max_length", None)
    if limit and isinstance(value, str) and model._meta.get_field(name).get_internal_type() != (
            "TextField"):
        return value[:limit]
    return value


def _scrub_part(part: Part, scrubbers: dict[int, Scrubber], everyone: Scrubber) -> int:
    """Scrub the rows of one table: each with its case's customer's identifiers (all of the
    batch's customers for tables with no link to the case). Returns the rows changed."""
    model = apps.get_model(part.model)
    names = list(part.fields)
    if part.case_path is None:
        rows = model.objects.values("pk", *names)
        per_row = {row["pk"]: (row, [everyone]) for row in rows}
    else:
        per_row: dict[Any, tuple[dict, list[Scrubber]]] = {}
        rows = model.objects.filter(**{f"{part.case_path}__in": list(scrubbers)}).values(
            "pk", *names, the_case=F(part.case_path))
        for row in rows:
            entry = per_row.setdefault(row["pk"], (row, []))
            scrubber = scrubbers.get(row["the_case"])
            if scrubber is not None and scrubber not in entry[1]:
                entry[1].append(scrubber)
    changed = []
    for pk, (row, row_scrubbers) in per_row.items():
        values = {}
        for name, how in part.fields.items():
            value = row[name]
            for scrubber in row_scrubbers:
                value = _new_value(how, value, scrubber)
                if how is How.DIGEST:
                    break
            values[name] = _fit(model, name, value)
        if any(values[name] != row[name] for name in names):
            changed.append((pk, values))
    update_rows(model, names, changed)
    return len(changed)


def _delete_attachments(case_ids: list[int]) -> int:
    """Attachment rows go now; their files once the transaction commits (a rollback keeps
    both)."""
    files = [name for name in CaseAttachment.objects.filter(case_id__in=case_ids)
             .values_list("file", flat=True) if name]
    deleted, _per_model = CaseAttachment.objects.filter(case_id__in=case_ids).delete()

    def remove_files() -> None:
        for name in files:
            default_storage.delete(name)

    transaction.on_commit(remove_files)
    return deleted


def _scrub_admin_log(model: type[models.Model], ids: Iterable[int], scrubber_of: Any) -> int:
    """The admin's own change log copies an object's name (``str``) and the changed fields."""
    content_type = ContentType.objects.get_for_model(model)
    entries = list(LogEntry.objects.filter(content_type=content_type,
                                           object_id__in=[str(pk) for pk in ids]))
    for entry in entries:
        scrubber = scrubber_of(int(entry.object_id))
        entry.object_repr = scrubber.text(entry.object_repr)[:200] or MASK
        entry.change_message = scrubber.text(entry.change_message)
    update_rows(LogEntry, ["object_repr", "change_message"],
                [(e.pk, {"object_repr": e.object_repr, "change_message": e.change_message})
                 for e in entries])
    return len(entries)


def _audit(action: str, actor: Any, reason: str, *, cases: list[Case],
           customer_ids: list[int], counts: dict[str, int]) -> None:
    """One entry per case and per customer, named by id and reference only (``str`` of a
    customer is their name, so the target is spelt out)."""
    detail = {"reason": reason}
    entries = [
        AuditRecordData(action=action, actor=actor, case_id=case.pk, target_type="cases.Case",
                        target_id=str(case.pk), target_repr=case.reference or "",
                        detail={**detail, "rows": counts})
        for case in cases
    ] + [
        AuditRecordData(action=action, actor=actor, target_type="cases.Customer",
                        target_id=str(pk), target_repr=f"customer #{pk}", detail=detail)
        for pk in customer_ids
    ]
    audit_record_many(entries)


def anonymise_cases(*, case_ids: list[int], now: datetime, actor: Any, action: str,
                    reason: str, customer_ids: Iterable[int] = ()) -> Anonymised:
    """Remove the personal data of these cases (not yet anonymised), then of their customers
    (and of ``customer_ids``) who have no case left holding any. Preconditions: the caller
    checked retention or erasure, holds, and runs this in a transaction with the cases
    locked. Side effects: attachment files deleted after commit; one audit entry per case
    and per customer anonymised."""
    cases = list(Case.objects.filter(pk__in=case_ids, anonymised_at__isnull=True)
                 .only("pk", "reference", "customer_id", *CASE_FIELDS))
    candidates = {case.customer_id for case in cases} | set(customer_ids)
    customers = Customer.objects.only("pk", *CUSTOMER_FIELDS).in_bulk(candidates)
    literals = {
        pk: contact_literals(**{name: getattr(c, name) for name in CUSTOMER_FIELDS})
        for pk, c in customers.items()
    }
    by_customer = {pk: Scrubber(values) for pk, values in literals.items()}
    scrubbers = {case.pk: by_customer[case.customer_id] for case in cases}
    counts: dict[str, int] = defaultdict(int)
    if cases:
        for case in cases:
            for name, how in CASE_FIELDS.items():
                value = _new_value(how, getattr(case, name), scrubbers[case.pk])
                setattr(case, name, _fit(Case, name, value))
            case.anonymised_at = now
        everyone = Scrubber(set().union(*literals.values()), detect=False,
                            case_subjects={case.pk: case.subject for case in cases})
        case_columns = [*CASE_FIELDS, "anonymised_at"]
        update_rows(Case, case_columns,
                    [(case.pk, {name: getattr(case, name) for name in case_columns})
                     for case in cases])
        for part in PARTS:
            counts[part.model] += _scrub_part(part, scrubbers, everyone)
        counts["cases.CaseAttachment"] = _delete_attachments(list(scrubbers))
        counts["admin.LogEntry"] = _scrub_admin_log(
            Case, scrubbers, lambda pk: scrubbers[pk])
    done_customers = _anonymise_customers(candidates, now)
    if done_customers:
        counts["admin.LogEntry"] += _scrub_admin_log(
            Customer, done_customers, lambda pk: by_customer[pk])
    _audit(action, actor, reason, cases=cases, customer_ids=done_customers,
           counts={k: v for k, v in counts.items() if v})
    return Anonymised(cases=len(cases), customers=len(done_customers),
                      rows={k: v for k, v in counts.items() if v})


def _anonymise_customers(candidates: set[int], now: datetime) -> list[int]:
    """The candidates none of whose cases still holds personal data lose their contact data
    (the row stays: cases point to it, and the KPIs read its key-customer flag)."""
    if not candidates:
        return []
    holding = Case.objects.filter(customer_id=OuterRef("pk"), anonymised_at__isnull=True)
    ids = list(Customer.objects.filter(pk__in=candidates, anonymised_at__isnull=True)
               .exclude(Exists(holding)).values_list("pk", flat=True))
    if ids:
        Customer.objects.filter(pk__in=ids).update(
            name=MASK, phone="", email="", wechat_openid="", anonymised_at=now)
    return ids
