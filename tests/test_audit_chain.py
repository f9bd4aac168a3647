"""The audit trail's recording API and its hash chain (issue 19 item 1)."""

from __future__ import annotations

import pytest

from cases.audit.chain import GENESIS_HASH
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
    assert AuditChainHead.objects.get(pk=1).last_hash == entries[-1].hash


def test_the_first_entry_follows_the_genesis_hash():
    AuditEntry.objects.all().delete()
    AuditChainHead.objects.all().delete()
    entry = audit_record(actor=None, action=AuditAction.OTHER)
    assert entry.seq == 1 and entry.prev_hash == GENESIS_HASH and entry.actor_name == ""


def test_an_unknown_action_is_refused_and_records_nothing():
    before = AuditEntry.objects.count()
    with pytest.raises(ValueError):
        audit_record(actor=None, action="nonsense")
    assert AuditEntry.objects.count() == before
