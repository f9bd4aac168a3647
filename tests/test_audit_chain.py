"""The audit trail's recording API and its hash chain (issue 19 item 1)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cases.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from cases.models import AuditChainHead, AuditEntry
from cases.services.audit import AuditAction, AuditRecordData, audit_record, audit_record_many
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_entries_are_chained_in_order():
    actor = UserFactory()
    case = CaseFactory()
    first = audit_record(actor=actor, action=AuditAction.CHANGE, target=case,
                         changes={"subject": ("old", "new")})
    audit_record_many([AuditRecordData(action=AuditAction.EXPORT, detail={"rows": 3}),
                       AuditRecordData(action=AuditAction.OTHER, target=case)])
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries][-3:] == [first.seq, first.seq + 1, first.seq + 2]
    assert entries[-3].case_id == case.pk and entries[-3].actor_name == actor.username
    assert entries[-3].changes == {"subject": ["old", "new"]}
    assert entries[-2].prev_hash == entries[-3].hash and entries[-1].prev_hash == entries[-2].hash


def test_the_first_entry_follows_the_genesis_hash():
    AuditEntry.objects.all().delete()
    entry = audit_record(actor=None, action=AuditAction.OTHER)
    assert entry.seq == 1 and entry.prev_hash == GENESIS_HASH and entry.actor_name == ""


def test_an_unknown_action_is_refused_and_records_nothing():
    before = AuditEntry.objects.count()
    with pytest.raises(ValueError):
        audit_record(actor=None, action="nonsense")
    assert AuditEntry.objects.count() == before


# --- audit verify --------------------------------------------------------------------------------
def _chain(n: int = 6) -> list[AuditEntry]:
    case = CaseFactory()
    AuditEntry.objects.all().delete()
    AuditChainHead.objects.update(last_seq=0, last_hash=GENESIS_HASH)
    audit_record_many([AuditRecordData(action=AuditAction.CHANGE, target=case,
                                       changes={"subject": (f"s{i}", f"s{i + 1}")})
                       for i in range(n)])
    return list(AuditEntry.objects.order_by("seq"))


def _verify() -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("audit", "verify", "--batch-size", "2", stdout=out)
    except CommandError as exc:
        return False, str(exc)
    return True, out.getvalue()


def test_an_untouched_chain_verifies_with_a_summary():
    entries = _chain()
    ok, text = _verify()
    assert ok, text
    assert "6 entries verified" in text and entries[-1].hash in text


def test_an_empty_trail_verifies():
    AuditEntry.objects.all().delete()
    AuditChainHead.objects.update(last_seq=0, last_hash=GENESIS_HASH)
    assert _verify()[0]


def test_an_altered_entry_is_named():
    entries = _chain()
    AuditEntry.objects.filter(pk=entries[2].pk).update(changes={"subject": ["s2", "forged"]})
    ok, text = _verify()
    assert not ok
    assert f"#{entries[2].seq} (id {entries[2].pk}): changed" in text


def test_an_altered_and_rehashed_entry_is_named():
    entries = _chain()
    forged = entries[3]
    forged.actor_name = "someone-else"
    forged.hash = entry_hash(forged.prev_hash, tuple(getattr(forged, f) for f in HASHED_FIELDS))
    AuditEntry.objects.filter(pk=forged.pk).update(actor_name=forged.actor_name, hash=forged.hash)
    ok, text = _verify()
    assert not ok and f"#{forged.seq} (id {forged.pk}): changed" in text


def test_a_deleted_entry_is_named():
    entries = _chain()
    AuditEntry.objects.filter(pk=entries[2].pk).delete()
    ok, text = _verify()
    assert not ok and f"#{entries[2].seq}: removed" in text


def test_deleting_the_newest_verified_entry_is_noticed():
    entries = _chain()
    assert _verify()[0]  # the checkpoint moves to the newest entry
    AuditEntry.objects.filter(pk=entries[-1].pk).delete()
    ok, text = _verify()
    assert not ok and f"#{entries[-1].seq}: removed" in text


def _insert(seq: int, prev_hash: str, *, rehash: bool) -> AuditEntry:
    fake = AuditEntry(seq=seq, at=timezone.now(), action=AuditAction.DELETE,
                      target_type="cases.Case", target_id="1", prev_hash=prev_hash, hash="f" * 64)
    if rehash:
        fake.hash = entry_hash(prev_hash, tuple(getattr(fake, f) for f in HASHED_FIELDS))
    fake.save()
    return fake


@pytest.mark.parametrize("rehash", [False, True], ids=["bogus-hash", "well-formed-hash"])
def test_an_entry_inserted_in_the_middle_is_named(rehash):
    entries = _chain()
    # Make room: move the newest entry one place up, then slip a forged entry in.
    last = entries[-1]
    AuditEntry.objects.filter(pk=last.pk).update(seq=last.seq + 1)
    fake = _insert(last.seq, entries[-2].hash, rehash=rehash)
    ok, text = _verify()
    assert not ok and f"#{fake.seq} (id {fake.pk}): inserted" in text


def test_a_bad_batch_size_is_a_clear_error():
    with pytest.raises(CommandError, match="batch-size"):
        call_command("audit", "verify", "--batch-size", "0")


def test_a_writer_that_lost_the_race_chains_onto_the_winner():
    """Two transactions read the same last entry; the second INSERT conflicts on ``seq`` and
    is retried on top of the first (simulated: an entry appears between read and insert)."""
    from unittest import mock

    from cases.services import audit as audit_service

    _chain(2)
    real_last = audit_service._last
    calls = []

    def racing_last():
        value = real_last()
        if not calls:
            calls.append(value)
            audit_service._append([AuditRecordData(action=AuditAction.OTHER)])  # the winner
        return value

    with mock.patch.object(audit_service, "_last", racing_last):
        audit_record(actor=None, action=AuditAction.EXPORT)
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", "action"))
    assert seqs[-2:] == [(3, AuditAction.OTHER), (4, AuditAction.EXPORT)]
    assert _verify()[0]


def test_the_benchmark_runs_on_a_tiny_database():
    from bench.bench_audit import measure

    _chain(2)
    out = StringIO()
    figures = measure(50, batch=7, out=out)
    assert figures["entries"] == 52 and "Audit trail intact" in out.getvalue()
