"""Recording in the audit trail. Every entry is appended to the hash chain in the caller's
transaction: if the caller rolls back, the entry is gone with the change it describes.

    audit_record(actor=request.user, action=AuditAction.EXPORT, detail={"rows": 120})

``actor=None`` is the system (a task, a sweep, a command) unless an ``audit_actor`` context
names somebody (the request middleware does that for every signed-in request)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from cases.audit.capture import safe_repr
from cases.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash, plain
from cases.models.audit import AuditAction, AuditEntry

__all__ = ["AuditAction", "AuditRecordData", "audit_actor", "audit_batch", "audit_export",
           "audit_personal_data_view", "audit_record", "audit_record_many", "current_actor"]

# Who is acting in this request / task when the code writing does not say (change capture).
_actor: ContextVar[Any] = ContextVar("audit_actor", default=None)
# Entries held back by ``audit_batch`` until its block ends.
_batch: ContextVar[list | None] = ContextVar("audit_batch", default=None)


@contextmanager
def audit_actor(actor: Any) -> Iterator[None]:
    """Attribute entries recorded without an explicit actor to ``actor`` inside the block."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def audit_batch() -> Iterator[None]:
    """Append every entry recorded inside the block in one go when the block ends without
    an exception (two queries however many entries: the last entry, the INSERT): for a
    hot path that writes several audited rows in one transaction. The block must lie inside
    that transaction; when it raises, its entries are dropped with the rollback."""
    if _batch.get() is not None:  # an outer batch collects them
        yield
        return
    held: list[AuditRecordData] = []
    token = _batch.set(held)
    try:
        yield
    finally:
        _batch.reset(token)
    _append(held)


def current_actor() -> Any:
    actor = _actor.get()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


# How often an append is retried when concurrent writers took its sequence numbers.
APPEND_ATTEMPTS = 50


class AuditBusy(RuntimeError):
    """Concurrent appends kept taking the next sequence numbers."""


@dataclass
class AuditRecordData:
    """One entry for ``audit_record_many``. ``target`` or the three ``target_*`` strings name
    the object; ``case_id`` ties the entry to a case's history (derived from ``target``
    when it is a case or has a ``case_id``)."""

    action: str
    actor: Any = None
    target: models.Model | None = None
    changes: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None
    case_id: int | None = None
    target_type: str = ""
    target_id: str = ""
    target_repr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def audit_record(
    *, actor: Any, action: str, target: models.Model | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None, detail: dict | None = None,
    case_id: int | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (autocommitted outside one). Two
    queries: the chain's last entry, then the INSERT (in a savepoint). Concurrent writers
    cannot fork the chain: ``seq`` is unique, so a second INSERT of the same number waits
    for the first transaction and, once it commits, fails and is retried on top of it."""
    return _append([AuditRecordData(action=action, actor=actor, target=target,
                                    changes=changes, detail=detail, case_id=case_id)])[0]


def audit_record_many(entries: list[AuditRecordData]) -> None:
    """Append several entries at once, two queries (sweeps, tasks, bulk edits)."""
    if entries:
        _append(entries)


def _target(data: AuditRecordData) -> tuple[str, str, str, int | None]:
    obj = data.target
    if obj is None:
        return data.target_type, data.target_id, data.target_repr[:200], data.case_id
    case_id = data.case_id
    if case_id is None:
        if obj._meta.label == "cases.Case":
            case_id = obj.pk
        else:
            case_id = getattr(obj, "case_id", None)
    return obj._meta.label, str(obj.pk), safe_repr(obj), case_id


def _actor_of(data: AuditRecordData) -> tuple[int | None, str]:
    actor = data.actor if data.actor is not None else current_actor()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.pk, actor.get_username()


def _last() -> tuple[int, str]:
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return last if last is not None else (0, GENESIS_HASH)


def _append(entries: list[AuditRecordData]) -> list[AuditEntry]:
    valid = set(AuditAction.values)
    for data in entries:
        if data.action not in valid:
            raise ValueError(f"unknown audit action {data.action!r}")
    held = _batch.get()
    if held is not None:
        held.extend(entries)
        return [AuditEntry(action=data.action) for data in entries]
    if not entries:
        return []
    actors = [_actor_of(data) for data in entries]
    targets = [_target(data) for data in entries]
    for _attempt in range(APPEND_ATTEMPTS):
        seq, prev = _last()
        now = timezone.now()
        rows = []
        for data, (actor_id, actor_name), (target_type, target_id, target_repr, case_id) in zip(
                entries, actors, targets, strict=True):
            seq += 1
            row = AuditEntry(
                seq=seq, at=now, actor_id=actor_id, actor_name=actor_name, action=data.action,
                target_type=target_type, target_id=target_id, target_repr=target_repr,
                case_id=case_id, changes=plain(data.changes or {}),
                detail=plain(data.detail or {}), prev_hash=prev,
            )
            row.hash = prev = entry_hash(prev, tuple(getattr(row, f) for f in HASHED_FIELDS))
            rows.append(row)
        try:
            if connection.in_atomic_block:  # a failed INSERT must not abort the caller's work
                with transaction.atomic():
                    AuditEntry.objects.bulk_create(rows, batch_size=1000)
            else:
                AuditEntry.objects.bulk_create(rows, batch_size=1000)
        except IntegrityError:
            # Another transaction appended first (``seq`` is unique): it has committed by
            # now, since the INSERT waited for it; chain onto its entries instead.
            continue
        return rows
    raise AuditBusy("the audit trail is too busy to append to; try again")
    return rows


def audit_personal_data_view(
    *, actor: Any, customer: models.Model, where: str, fields: list[str],
    case_id: int | None = None, rows: int | None = None,
) -> None:
    """Record that ``actor`` saw ``customer``'s unmasked ``fields`` on page ``where``
    (one INSERT). ``rows``: for a list page, how many customers it showed."""
    detail: dict[str, Any] = {"where": where, "fields": fields}
    if rows is not None:
        detail["rows"] = rows
    audit_record(actor=actor, action=AuditAction.VIEW_PERSONAL, target=customer,
                 case_id=case_id, detail=detail)


def audit_export(*, actor: Any, what: str, filters: dict[str, Any], rows: int,
                 file_format: str) -> None:
    """Record an export: who, what, with which filters (personal data typed into a search
    is masked), how many rows."""
    from cases.masking import mask_text

    audit_record(actor=actor, action=AuditAction.EXPORT, detail={
        "what": what, "format": file_format, "rows": rows,
        "filters": {k: [mask_text(v) for v in values] for k, values in filters.items()},
    })
