"""Concurrent appends to the audit trail never fork its chain. Needs PostgreSQL (real
concurrent transactions); SQLite serialises writers and proves nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from cases.models import AuditEntry
from cases.services.audit import AuditAction, audit_record
from tests.races import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="concurrent appends need PostgreSQL (set DATABASE_URL)"),
]


def _writer(n: int):
    def write() -> int:
        for i in range(10):
            with transaction.atomic():
                audit_record(actor=None, action=AuditAction.OTHER, detail={"writer": n, "i": i})
        return n
    return write


def test_four_writers_at_once_leave_one_unbroken_chain():
    results = at_once(*[_writer(n) for n in range(4)])
    assert results == [0, 1, 2, 3]
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 41))
    call_command("audit", "verify")  # raises CommandError when broken
