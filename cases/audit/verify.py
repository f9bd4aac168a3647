"""Walking the audit chain: every entry's hash recomputed, every link checked, the end
compared with the chain head. Streams the table in keyset batches, so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cases.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
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
    columns = ("id", "prev_hash", "hash", *HASHED_FIELDS)
    after = 0
    while True:
        chunk = list(AuditEntry.objects.filter(seq__gt=after).order_by("seq")
                     .values_list(*columns)[:batch])
        for values in chunk:
            intact = entry_hash(values[1], values[3:]) == values[2]
            yield Row(seq=values[3], id=values[0], prev=values[1], hash=values[2],
                      intact=intact)
        if len(chunk) < batch:
            return
        after = chunk[-1][3]


def verify_chain(batch: int = 10_000) -> VerifyResult:
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
            REMOVED, expected_seq, None, "the newest entries up to the chain head are missing"))
    if head is not None and accepted is not None and head.last_hash != accepted.hash:
        return VerifyResult(expected_seq - 2, expected_seq - 2, accepted.prev, Problem(
            CHANGED, accepted.seq, accepted.id, "its hash differs from the chain head's"))
    return VerifyResult(expected_seq - 1, expected_seq - 1, expected_prev, None)


def _check(row: Row, following: Row | None, accepted: Row | None, expected_prev: str,
           expected_seq: int, head: AuditChainHead | None) -> Problem | None:
    linked = row.prev == expected_prev
    if row.intact and linked and row.seq == expected_seq:
        if head is not None and row.seq > head.last_seq:
            return Problem(INSERTED, row.seq, row.id, "it lies beyond the chain head")
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
