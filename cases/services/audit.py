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

from django.db import models, transaction
from django.utils import timezone

from cases.audit.chain import HASHED_FIELDS, entry_hash, plain
from cases.models.audit import AuditAction, AuditChainHead, AuditEntry

__all__ = ["AuditAction", "AuditRecordData", "audit_actor", "audit_record", "audit_record_many",
           "current_actor"]

# Who is acting in this request / task when the code writing does not say (change capture).
_actor: ContextVar[Any] = ContextVar("audit_actor", default=None)


@contextmanager
def audit_actor(actor: Any) -> Iterator[None]:
    """Attribute entries recorded without an explicit actor to ``actor`` inside the block."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Any:
    actor = _actor.get()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


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
    """Append one entry. Must run inside the caller's transaction (it opens one otherwise).
    Side effects: locks the chain head until the transaction ends (three queries)."""
    return _append([AuditRecordData(action=action, actor=actor, target=target,
                                    changes=changes, detail=detail, case_id=case_id)])[0]


def audit_record_many(entries: list[AuditRecordData]) -> None:
    """Append several entries under one lock of the chain head (sweeps, tasks, bulk edits)."""
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
    return obj._meta.label, str(obj.pk), str(obj)[:200], case_id


def _actor_of(data: AuditRecordData) -> tuple[int | None, str]:
    actor = data.actor if data.actor is not None else current_actor()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.pk, actor.get_username()


def _head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _append(entries: list[AuditRecordData]) -> list[AuditEntry]:
    valid = set(AuditAction.values)
    for data in entries:
        if data.action not in valid:
            raise ValueError(f"unknown audit action {data.action!r}")
    with transaction.atomic(savepoint=False):
        head = _head()
        seq, prev = head.last_seq, head.last_hash
        now = timezone.now()
        rows = []
        for data in entries:
            seq += 1
            actor_id, actor_name = _actor_of(data)
            target_type, target_id, target_repr, case_id = _target(data)
            row = AuditEntry(
                seq=seq, at=now, actor_id=actor_id, actor_name=actor_name, action=data.action,
                target_type=target_type, target_id=target_id, target_repr=target_repr,
                case_id=case_id, changes=plain(data.changes or {}),
                detail=plain(data.detail or {}), prev_hash=prev,
            )
            row.hash = prev = entry_hash(prev, tuple(getattr(row, f) for f in HASHED_FIELDS))
            rows.append(row)
        AuditEntry.objects.bulk_create(rows, batch_size=1000)
        AuditChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev)
    return rows
