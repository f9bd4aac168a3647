"""A regulator's complaint forwarded twice at the same moment (two channels, two customers'
phones, so no intake lock is shared) still makes one case: the (regime, regulator reference)
unique constraint stops the second and intake answers it with the first case. Needs
PostgreSQL: SQLite lets one writer in at a time and proves nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from cases.choices import Category, ChannelKind
from cases.models import Case, CaseRegime
from cases.services.intake import CustomerData, IntakeData, case_intake
from tests.races import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="a race between connections needs PostgreSQL (set DATABASE_URL)"),
]


def forwarded(phone: str) -> IntakeData:
    return IntakeData(customer=CustomerData(name="王芳", phone=phone), channel=ChannelKind.WEB,
                      category=Category.BILLING, subject="信用卡年费争议",
                      description="未经同意收取年费。", regime="cn-banking-insurance",
                      regulator_reference="NFRA-RACE-1")


def test_one_case_per_regulator_reference_under_a_race():
    results = at_once(*[lambda i=i: case_intake(actor=None, data=forwarded(f"1380000{i:04d}"))
                        for i in range(6)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Case.objects.count() == 1 and CaseRegime.objects.count() == 1
    assert len({r.case.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
