"""Walking the audit chain: every entry's hash recomputed, every link checked, the end
compared with the last verified checkpoint. Streams the table in keyset batches, so memory
stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import TextField
from django.db.models.functions import Cast

from cases.audit.chain import GENESIS_HASH, HASHED_FIELDS, JSON_COLUMNS, stored_hash
from cases.models.audit import AuditChainHead, AuditEntry

CHANGED, REMOVED, INSERTED = "changed", "removed", "inserted"


@dataclass(frozen=True)
class Row:
    seq: int
    id: int
    prev: str
    hash: str
    intact: bool  # its stored hash matches its content and its own prev_hash


@dataclass(frozen=True)
class Problem:
    kind: str  # CHANGED, REMOVED or INSERTED
    seq: int
    id: int | None  # None: the entry is gone (removed)
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    last_seq: int
    last_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def stream(batch: int = 10_000) -> Iterator[Row]:
    """The entries in chain order, each checked against its own hash; keyset batches, the
    JSON columns read as text (parsed once, by orjson)."""
    columns = ["id", "prev_hash", "hash", *HASHED_FIELDS]
    for index in JSON_COLUMNS:
        columns[3 + index] = f"{HASHED_FIELDS[index]}_text"
    as_text = {f"{name}_text": Cast(name, TextField()) for name in ("changes", "detail")}
    after = 0
    while True:
        chunk = list(AuditEntry.objects.filter(seq__gt=after).order_by("seq")
                     .annotate(**as_text).values_list(*columns)[:batch])
        for values in chunk:
            intact = stored_hash(values[1], list(values[3:])) == values[2]
            yield Row(seq=values[3], id=values[0], prev=values[1], hash=values[2],
                      intact=intact)
        if len(chunk) < batch:
            return
        after = chunk[-1][3]


def verify_chain(batch: int = 10_000, *, checkpoint: bool = True) -> VerifyResult:
    """Walk the chain; when it is intact and ``checkpoint``, move the checkpoint to its end."""
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_prev, expected_seq = GENESIS_HASH, 1
    accepted: Row | None = None
    rows = stream(batch)
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        problem = _check(current, following, accepted, expected_prev, expected_seq, head)
        if problem is not None:
            return VerifyResult(expected_seq - 1, expected_seq - 1, expected_prev, problem)
        accepted, expected_prev, expected_seq = current, current.hash, expected_seq + 1
        current = following
    if head is not None and head.last_seq > expected_seq - 1:
        return VerifyResult(expected_seq - 1, expected_seq - 1, expected_prev, Problem(
            REMOVED, expected_seq, None,
            f"entries up to the last verified checkpoint #{head.last_seq} are missing"))
    if checkpoint:
        AuditChainHead.objects.update_or_create(
            pk=1, defaults={"last_seq": expected_seq - 1, "last_hash": expected_prev})
    return VerifyResult(expected_seq - 1, expected_seq - 1, expected_prev, None)


def _check(row: Row, following: Row | None, accepted: Row | None, expected_prev: str,
           expected_seq: int, head: AuditChainHead | None) -> Problem | None:
    linked = row.prev == expected_prev
    if row.intact and linked and row.seq == expected_seq:
        if head is not None and row.seq == head.last_seq and row.hash != head.last_hash:
            return Problem(CHANGED, row.seq, row.id, "its hash differs from the checkpoint's")
        return None
    if accepted is not None and row.prev == accepted.prev:
        return Problem(INSERTED, accepted.seq, accepted.id,
                       "it and the next entry claim the same predecessor")
    if following is not None and following.prev == expected_prev:
        return Problem(INSERTED, row.seq, row.id, "the chain continues around it")
    if row.seq > expected_seq:
        return Problem(REMOVED, expected_seq, None,
                       f"the entry before #{row.seq} (id {row.id}) is missing")
    if row.intact and row.seq == expected_seq and accepted is not None:
        return Problem(CHANGED, accepted.seq, accepted.id,
                       "its hash was recomputed: the next entry no longer links to it")
    return Problem(CHANGED, row.seq, row.id, "its content does not match its hash")


__all__ = ["CHANGED", "INSERTED", "REMOVED", "Problem", "VerifyResult", "verify_chain"]
