"""Complaints on one matter arriving at the same moment are grouped and linked as if they had
come one after the other (intake holds the matter's lock from its matter read to its commit).
Needs PostgreSQL: SQLite lets one writer in at a time and proves nothing."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from cases.choices import Category, ChannelKind, ContactChannel, Scope
from cases.models import Case, ComplaintGroup, Customer
from cases.services import grouping, intake
from cases.services.intake import CustomerData, IntakeData, case_intake
from tests.races import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="a race between connections needs PostgreSQL (set DATABASE_URL)"),
]


def complaint(customer: CustomerData, order_ref: str = "SO-BURST-1") -> IntakeData:
    return IntakeData(customer=customer, channel=ChannelKind.APP, category=Category.DELIVERY,
                      subject="同一批订单未送达", description="下单五天仍未收到货。",
                      order_ref=order_ref)


@pytest.fixture
def slow_matter_read(monkeypatch):
    """Widen the window between the matter read and the write, so that without the lock
    every complaint of a burst would read the matter before any of the others is written."""
    real = grouping.detect_related

    def slow(**kwargs):
        plan = real(**kwargs)
        time.sleep(0.05)
        return plan

    monkeypatch.setattr(intake.grouping, "detect_related", slow)


def _at_once(items: list[IntakeData]) -> list:
    return at_once(*[lambda item=item: case_intake(actor=None, data=item) for item in items])


def test_a_burst_on_one_order_forms_one_group_with_every_case(slow_matter_read):
    burst = [complaint(CustomerData(name=f"客户{i}", phone=f"1390000{i:04d}",
                                    preferred_channel=ContactChannel.SMS)) for i in range(12)]
    results = _at_once(burst)
    assert not [r for r in results if isinstance(r, Exception)], results
    group = ComplaintGroup.objects.get()  # one group, not one per racing complaint
    cases = Case.objects.filter(order_ref="SO-BURST-1")
    assert cases.count() == 12 and group.case_count == 12
    assert set(cases.values_list("group_id", flat=True)) == {group.pk}
    assert set(cases.values_list("scope", flat=True)) == {Scope.GROUP}
    # Another order's burst is not held up by this one's lock, nor grouped with it.
    other = _at_once([complaint(CustomerData(name="别人", phone="13911112222"), "SO-OTHER")])
    assert other[0].case.group_id is None


def test_one_customer_s_burst_on_one_order_links_the_repeats_to_the_first(slow_matter_read):
    customer = case_intake(actor=None, data=complaint(
        CustomerData(name="王芳", phone="13800138000"), order_ref="SO-WARM")).case.customer
    Case.objects.all().delete()
    results = _at_once([complaint(CustomerData(name="王芳", phone="13800138000"), "SO-DUP")
                        for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    cases = list(Case.objects.filter(order_ref="SO-DUP").order_by("received_at", "pk"))
    assert len(cases) == 4 and Customer.objects.count() == 1
    first = [c for c in cases if c.duplicate_of_id is None]
    assert len(first) == 1 and first[0].customer_id == customer.pk
    assert all(c.duplicate_of_id == first[0].pk for c in cases if c is not first[0])


@pytest.fixture
def slow_customer_match(monkeypatch):
    """Widen the window between the customer read and the write (see slow_matter_read)."""
    real = intake.customer_match

    def slow(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(intake, "customer_match", slow)


@pytest.mark.parametrize("order_ref", ["", "SO-MINE"])
def test_one_new_customer_s_burst_finds_one_customer_and_is_no_group(
        slow_customer_match, order_ref):
    """One person sending ten complaints at once (no earlier record of them) is one
    customer: their repeats on one order are duplicates of the first, not ten voices of
    a group complaint."""
    burst = [complaint(CustomerData(name="赵六", phone="13612345678",
                                    email=f"zhao{i}@example.com" if i % 2 else ""),
                       order_ref=order_ref) for i in range(10)]
    results = _at_once(burst)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Customer.objects.count() == 1 and Case.objects.count() == 10
    assert not ComplaintGroup.objects.exists()
    if order_ref:
        assert Case.objects.filter(duplicate_of__isnull=False).count() == 9


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_caller_s_transaction_holds_the_locks_but_a_bulk_import_takes_none():
    """A complaint with attachments (one complaint in the caller's transaction) holds its
    sorted locks to the end; an import batch's rows would take theirs row after row, in no
    one order, so it takes none."""
    from django.db import transaction

    with transaction.atomic():
        case_intake(actor=None, data=complaint(CustomerData(name="甲", phone="13500000001",
                                                            email="jia@example.com")))
        assert _advisory_locks_held() == 3  # the matter, the phone, the e-mail
    with transaction.atomic():
        for i in range(3):
            case_intake(actor=None, bulk=True, data=complaint(
                CustomerData(name=f"乙{i}", phone=f"1350000010{i}"), order_ref=f"SO-IMP-{i}"))
        assert _advisory_locks_held() == 0
    assert Customer.objects.count() == 4
