"""Issue 19 item 2: a customer's erasure request (PIPL) carried out by a supervisor in the admin,
refused with the reason while a case is open or under a legal hold; legal holds set and lifted
by supervisors and admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.choices import Role, Stage
from cases.models import Case, Customer, ErasureRequest, ErasureStatus, LegalHold
from cases.models.audit import AuditEntry
from cases.services import ActionForbidden, InvalidInput
from cases.services.retention import (
    erasure_request_carry_out,
    erasure_request_record,
    legal_hold_lift,
    legal_hold_set,
)
from tests.factories import CaseFactory, UserFactory

NAME, PHONE, EMAIL = "令狐冲冲", "13811112222", "linghu@example.org"
ADMIN_URL = "/admin/cases/erasurerequest/"


@pytest.fixture
def boss(db):
    return UserFactory(username="erasure-boss", role=Role.SUPERVISOR, is_staff=True)


def _customer_with(*stages: str) -> Customer:
    cases = [CaseFactory(customer_name=NAME, phone=PHONE, email=EMAIL, stage=stage,
                         description=f"联系{NAME} {PHONE}") for stage in stages]
    return cases[0].customer


def _carry_out_in_admin(client, user, request: ErasureRequest):
    client.force_login(user)
    return client.post(ADMIN_URL, {"action": "carry_out_action",
                                   "_selected_action": [request.pk]}, follow=True)


@pytest.mark.django_db
def test_a_supervisor_records_and_carries_out_an_erasure_request_in_the_admin(client, boss):
    customer = _customer_with(Stage.CLOSED, Stage.INVALID)
    client.force_login(boss)
    response = client.post(f"{ADMIN_URL}add/", {
        "customer": customer.pk, "received_at_0": timezone.localdate().isoformat(),
        "received_at_1": "10:00:00", "received_via": "热线", "note": f"{NAME} 来电要求删除 {PHONE}",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    request = ErasureRequest.objects.get()
    assert request.recorded_by == boss and request.status == ErasureStatus.PENDING

    response = _carry_out_in_admin(client, boss, request)

    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == ErasureStatus.DONE and request.cases_erased == 2
    assert request.decided_by == boss and NAME not in request.note and PHONE not in request.note
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.email) == ("****", "", "")
    assert not Case.objects.filter(customer=customer, anonymised_at__isnull=True).exists()
    assert not Case.objects.filter(description__contains=PHONE).exists()
    erased = AuditEntry.objects.filter(action="erase")
    assert {e.target_type for e in erased} == {"cases.Case", "cases.Customer",
                                               "cases.ErasureRequest"}
    assert all(e.actor_id == boss.pk for e in erased)
    assert not erased.filter(target_repr__contains=NAME).exists()  # the erasure names no one


@pytest.mark.django_db
def test_erasure_is_refused_with_the_reason_while_a_case_is_open(client, boss):
    customer = _customer_with(Stage.CLOSED, Stage.IN_PROGRESS)
    request = erasure_request_record(actor=None, customer_id=customer.pk,
                                     received_at=timezone.now())
    response = _carry_out_in_admin(client, boss, request)
    request.refresh_from_db()
    open_case = customer.cases.get(stage=Stage.IN_PROGRESS)
    assert request.status == ErasureStatus.REFUSED
    assert open_case.reference in request.outcome and "still open" in request.outcome
    assert request.outcome in response.content.decode()
    customer.refresh_from_db()
    assert customer.phone == PHONE
    assert not Case.objects.filter(customer=customer, anonymised_at__isnull=False).exists()


@pytest.mark.django_db
def test_erasure_is_refused_with_the_reason_under_a_legal_hold_and_done_once_it_is_lifted(boss):
    customer = _customer_with(Stage.CLOSED)
    case = customer.cases.get()
    until = timezone.now() + timedelta(days=90)
    hold = legal_hold_set(actor=boss, case_id=case.pk, reason="法院调取证据", until=until)
    request = erasure_request_record(actor=None, customer_id=customer.pk,
                                     received_at=timezone.now())
    refused = erasure_request_carry_out(actor=boss, request_id=request.pk)
    assert refused.status == ErasureStatus.REFUSED
    assert "legal hold" in refused.outcome and case.reference in refused.outcome
    assert Customer.objects.get(pk=customer.pk).phone == PHONE

    legal_hold_lift(actor=boss, hold_id=hold.pk)
    done = erasure_request_carry_out(actor=boss, request_id=request.pk)
    assert done.status == ErasureStatus.DONE
    assert Customer.objects.get(pk=customer.pk).phone == ""


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FRONTLINE, Role.SENIOR, Role.ADMIN])
def test_erasure_by_a_non_supervisor_is_refused(client, role):
    customer = _customer_with(Stage.CLOSED)
    request = erasure_request_record(actor=None, customer_id=customer.pk,
                                     received_at=timezone.now())
    user = UserFactory(username=f"not-boss-{role}", role=role, is_staff=True)
    with pytest.raises(ActionForbidden):
        erasure_request_carry_out(actor=user, request_id=request.pk)
    _carry_out_in_admin(client, user, request)
    request.refresh_from_db()
    assert request.status == ErasureStatus.PENDING
    assert Customer.objects.get(pk=customer.pk).phone == PHONE


@pytest.mark.django_db
def test_a_done_request_is_kept_and_cannot_be_carried_out_twice(client, boss):
    customer = _customer_with(Stage.CLOSED)
    request = erasure_request_record(actor=None, customer_id=customer.pk,
                                     received_at=timezone.now())
    erasure_request_carry_out(actor=boss, request_id=request.pk)
    response = _carry_out_in_admin(client, boss, request)
    assert "already carried out" in response.content.decode()
    client.force_login(boss)
    assert client.post(f"{ADMIN_URL}{request.pk}/delete/").status_code == 403
    assert ErasureRequest.objects.filter(pk=request.pk).exists()


# --- legal holds ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_legal_holds_are_set_by_supervisors_and_admins_only(frontline, boss):
    case = CaseFactory(stage=Stage.CLOSED)
    with pytest.raises(ActionForbidden):
        legal_hold_set(actor=frontline, case_id=case.pk, reason="诉讼")
    admin = UserFactory(username="hold-admin", role=Role.ADMIN, is_staff=True)
    hold = legal_hold_set(actor=admin, case_id=case.pk, reason="监管调查")
    assert hold.set_by == admin and hold.is_active(timezone.now())
    with pytest.raises(InvalidInput):
        legal_hold_set(actor=boss, case_id=case.pk, reason="  ")
    assert AuditEntry.objects.filter(target_type="cases.LegalHold",
                                     target_id=str(hold.pk)).exists()


@pytest.mark.django_db
def test_the_admin_sets_a_hold_with_who_why_and_until_and_refuses_a_past_end(client, boss):
    case = CaseFactory(stage=Stage.CLOSED)
    client.force_login(boss)
    past = client.post("/admin/cases/legalhold/add/", {
        "case": case.pk, "reason": "诉讼", "until_0": "2020-01-01", "until_1": "10:00:00"})
    assert past.status_code == 200 and "must be in the future" in past.content.decode()
    assert not LegalHold.objects.exists()
    response = client.post("/admin/cases/legalhold/add/", {
        "case": case.pk, "reason": "诉讼保全", "until_0": "2099-01-01", "until_1": "10:00:00"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.set_by, hold.reason, hold.until.year) == (boss, "诉讼保全", 2099)
    client.post("/admin/cases/legalhold/", {"action": "lift_action",
                                            "_selected_action": [hold.pk]})
    hold.refresh_from_db()
    assert hold.lifted_by == boss and not hold.is_active(timezone.now())


@pytest.mark.django_db
def test_an_agent_cannot_set_a_hold_in_the_admin(client):
    case = CaseFactory(stage=Stage.CLOSED)
    agent = UserFactory(username="hold-agent", role=Role.FRONTLINE, is_staff=True)
    client.force_login(agent)
    response = client.post("/admin/cases/legalhold/add/", {"case": case.pk, "reason": "x"})
    assert response.status_code == 403
    assert not LegalHold.objects.exists()
