"""Separation of duties: superuser status administers, it grants no desk role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import services
from cases.choices import CompensationStatus, Role, Stage, Tier
from cases.models import Compensation
from cases.services.errors import ActionForbidden
from tests.factories import CaseFactory, UserFactory, root_cause

pytestmark = pytest.mark.django_db


def _proposed_compensation(frontline, client) -> tuple:
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    client.post(reverse("desk:case_action", args=[case.pk, "resolve"]), {
        "version": case.version, "solution": "更换新机", "root_cause": root_cause().pk,
        "compensation_kind": "refund",
        "compensation_amount": "800", "compensation_description": "部分退款"})
    return case, Compensation.objects.get(case=case)


def test_a_superuser_holds_no_desk_role(admin_user):
    assert not admin_user.has_role(Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR)
    assert not admin_user.is_supervisor and not admin_user.is_agent


def test_a_superuser_without_the_supervisor_role_cannot_approve_compensation(
    client, frontline, admin_user
):
    case, compensation = _proposed_compensation(frontline, client)
    with pytest.raises(ActionForbidden):
        services.compensation_decide(actor=admin_user, compensation_id=compensation.pk,
                                     approve=True)
    client.force_login(admin_user)
    url = reverse("desk:compensation_decide", args=[case.pk, compensation.pk])
    assert client.post(url, {"decision": "approve"}).status_code == 403
    compensation.refresh_from_db()
    assert compensation.status == CompensationStatus.PROPOSED


def test_a_superuser_without_the_supervisor_role_cannot_retier(client, admin_user):
    case = CaseFactory(stage=Stage.TRIAGED)
    with pytest.raises(ActionForbidden):
        services.case_retier(actor=admin_user, case_id=case.pk, tier=Tier.URGENT, reason="x")
    client.force_login(admin_user)
    client.post("/admin/cases/case/", {
        "action": "retier_action", "_selected_action": [case.pk], "apply": "1",
        "tier": "1", "reason": "涉及人身安全",
    })
    case.refresh_from_db()
    assert case.tier != Tier.URGENT and not case.transitions.filter(name="retier").exists()


def test_a_superuser_still_opens_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/cases/case/").status_code == 200


def test_a_superuser_who_also_holds_the_supervisor_role_may_approve(client, frontline):
    boss = UserFactory(username="boss", role=Role.SUPERVISOR, is_staff=True, is_superuser=True)
    _case, compensation = _proposed_compensation(frontline, client)
    services.compensation_decide(actor=boss, compensation_id=compensation.pk, approve=True)
    compensation.refresh_from_db()
    assert compensation.status == CompensationStatus.APPROVED


@pytest.mark.parametrize(("who", "lands_on"), [
    ("frontline", "/desk/"), ("supervisor", "/desk/"), ("liaison", "/board/"),
    ("admin_user", "/admin/"),
])
def test_after_sign_in_each_role_lands_on_its_own_work(client, request, who, lands_on):
    user = request.getfixturevalue(who)
    response = client.post("/accounts/login/", {"username": user.username,
                                                 "password": "pass12345"}, follow=True)
    assert response.redirect_chain[-1][0] == lands_on
    assert response.status_code == 200
