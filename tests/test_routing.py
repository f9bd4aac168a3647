"""Automatic routing at triage (rules, pools, least loaded, round robin, maximum load,
availability, working hours) and recusal 回避 on every path that gives a case to someone."""

from __future__ import annotations

from collections import Counter
from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.choices import Category, Role, Stage, Tier
from cases.models import AgentProfile, AuditEntry, Case, CaseTransition, RoutingRule, WorkCalendar
from cases.services import CustomerData, InvalidInput
from cases.services.intake_batch import case_intake_batch
from cases.services.intake_input import validate_intake
from cases.services.recusal import case_set_complained_employee
from tests.factories import CaseFactory, DepartmentFactory, UserFactory
from tests.test_intake_service import data

pytestmark = pytest.mark.django_db


def triage(case: Case, actor, tier: int = Tier.ROUTINE) -> Case:
    return services.case_triage(actor=actor, case_id=case.pk, urgency=case.urgency,
                                scope=case.scope, difficulty=case.difficulty, tier=tier)


def agents(n: int, role: str = Role.FRONTLINE, prefix: str = "rt") -> list:
    return [UserFactory(username=f"{prefix}{i}", role=role) for i in range(n)]


def rule(**kw) -> RoutingRule:
    return RoutingRule.objects.create(**{"name": "Frontline pool", "pool_role": Role.FRONTLINE,
                                         "max_load": 1000, **kw})


def test_a_thousand_cases_least_loaded_over_ten_agents_end_within_one(supervisor):
    pool = agents(10)
    items = [data(external_id=f"route-{i}", order_ref=f"SO-{i}", customer=CustomerData(
        name="王芳", phone=f"138{i:08d}", email="", preferred_channel="sms"))
        for i in range(1000)]
    for item in items:
        validate_intake(item)
    cases = [r.case for r in case_intake_batch(actor=None, items=items)]
    rule()
    for case in cases:
        triage(case, supervisor)
    loads = Counter(Case.objects.filter(stage=Stage.ASSIGNED).values_list("handler_id",
                                                                          flat=True))
    assert sum(loads.values()) == 1000 and set(loads) == {u.pk for u in pool}
    assert max(loads.values()) - min(loads.values()) <= 1


def test_routing_assigns_like_the_manual_assign_and_says_why(supervisor):
    (agent,) = agents(1)
    rule(name="Delivery")
    case = triage(CaseFactory(), supervisor)
    case.refresh_from_db()
    assert case.stage == Stage.ASSIGNED and case.handler == agent and case.assigned_at
    assert case.routing_note == ""
    row = CaseTransition.objects.filter(case=case, name="assign").get()
    assert row.actor is None and "Delivery" in row.note and "0" in row.note


def test_least_loaded_weights_open_cases_by_tier(supervisor):
    busy, idle = agents(2, role=Role.SENIOR, prefix="w")
    CaseFactory(stage=Stage.ASSIGNED, handler=busy, tier=Tier.IMPORTANT)  # load 5
    for _ in range(3):
        CaseFactory(stage=Stage.ASSIGNED, handler=idle, tier=Tier.ROUTINE)  # load 3
    r = rule(pool_role=Role.SENIOR, weight_tier2=5)
    assert r.weights()[Tier.IMPORTANT] == 5
    case = triage(CaseFactory(), supervisor)
    case.refresh_from_db()
    assert case.handler == idle


def test_an_away_agent_gets_none(supervisor, client):
    present, away = agents(2)
    rule()
    client.force_login(away)
    client.post(reverse("desk:availability"), {"away": "1"})
    assert AgentProfile.objects.get(user=away).away
    for _ in range(6):
        triage(CaseFactory(), supervisor)
    assert set(Case.objects.values_list("handler_id", flat=True)) == {present.pk}
    client.post(reverse("desk:availability"), {"away": "0"})
    triage(CaseFactory(), supervisor)
    assert Case.objects.filter(handler=away).count() == 1  # back: least loaded again


def test_round_robin_cycles(supervisor):
    pool = agents(3)
    rule(method="round_robin")
    picks = []
    for _ in range(7):
        case = triage(CaseFactory(), supervisor)
        case.refresh_from_db()
        picks.append(case.handler_id)
    ids = [u.pk for u in pool]
    assert picks == ids + ids + ids[:1]


def test_max_load_respected_and_the_rest_wait_in_the_unrouted_queue(supervisor, client):
    pool = agents(2)
    rule(max_load=2)
    cases = [triage(CaseFactory(), supervisor) for _ in range(5)]
    loads = Counter(Case.objects.exclude(handler=None).values_list("handler_id", flat=True))
    assert loads == {pool[0].pk: 2, pool[1].pk: 2}
    left = Case.objects.get(stage=Stage.TRIAGED)
    assert left.pk == cases[-1].pk and "maximum load (2)" in left.routing_note
    client.force_login(supervisor)
    page = client.get(reverse("desk:cases") + "?queue=unrouted")
    assert page.status_code == 200 and left.reference in page.content.decode()
    # A supervisor overrides: assigns by hand as today, and the note goes.
    extra = UserFactory(username="extra", role=Role.FRONTLINE)
    services.case_assign(actor=supervisor, case_id=left.pk, handler=extra)
    left.refresh_from_db()
    assert left.stage == Stage.ASSIGNED and left.routing_note == ""


def test_most_specific_rule_wins_and_pools_by_skill_and_department(supervisor):
    dept = DepartmentFactory(code="routing-dept")
    general, billing_skilled, other_dept = agents(3)
    billing_skilled.department = dept
    billing_skilled.save()
    AgentProfile.objects.create(user=billing_skilled, skills=[Category.BILLING])
    AgentProfile.objects.create(user=other_dept, skills=[Category.BILLING])
    rule(name="any")
    rule(name="billing", category=Category.BILLING, tier=Tier.ROUTINE, require_skill=True,
         pool_department=dept, order=500)
    billing = triage(CaseFactory(category=Category.BILLING), supervisor)
    delivery = triage(CaseFactory(category=Category.DELIVERY), supervisor)
    billing.refresh_from_db()
    delivery.refresh_from_db()
    assert billing.handler == billing_skilled
    assert delivery.handler in (general, other_dept)


def test_no_rule_no_routing(supervisor):
    agents(2)
    case = triage(CaseFactory(), supervisor)
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and case.routing_note == ""


def test_agents_outside_their_department_hours_are_not_routed_to(supervisor):
    closed = WorkCalendar.objects.create(code="elsewhen", name="别的日子", time_zone="UTC")
    other_day = (timezone.now().weekday() + 3) % 7
    closed.periods.create(weekday=other_day, start=time(1), end=time(2))
    dept = DepartmentFactory(code="night")
    dept.calendar = closed
    dept.save()
    (off_hours,) = agents(1, prefix="night")
    off_hours.department = dept
    off_hours.save()
    rule()
    case = triage(CaseFactory(), supervisor)
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and "no agent" in case.routing_note


def test_tier2_routes_only_to_senior_agents(supervisor):
    frontliners = agents(2)
    (senior,) = agents(1, role=Role.SENIOR, prefix="sr")
    RoutingRule.objects.create(name="any", max_load=50)
    for _ in range(4):
        triage(CaseFactory(), supervisor, tier=Tier.IMPORTANT)
    handlers = set(Case.objects.values_list("handler_id", flat=True))
    assert senior.pk in handlers  # with the supervisors (who handle any tier)
    assert not handlers & {u.pk for u in frontliners}


# --- recusal 回避 -----------------------------------------------------------------------------
def test_recused_employee_never_gets_their_own_complaint_by_routing(supervisor):
    accused, colleague = agents(2)
    rule(method="round_robin")
    for _ in range(6):
        triage(CaseFactory(complained_employee=accused), supervisor)
    assert set(Case.objects.values_list("handler_id", flat=True)) == {colleague.pk}


def test_routing_leaves_it_unassigned_when_only_the_recused_is_free(supervisor):
    (accused,) = agents(1)
    rule()
    case = triage(CaseFactory(complained_employee=accused), supervisor)
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and case.handler is None and case.routing_note


def test_supervisor_manual_assignment_to_the_recused_is_refused(supervisor, client):
    (accused,) = agents(1)
    case = CaseFactory(stage=Stage.TRIAGED, complained_employee=accused)
    with pytest.raises(InvalidInput, match="回避"):
        services.case_assign(actor=supervisor, case_id=case.pk, handler=accused)
    client.force_login(supervisor)
    response = client.post(reverse("desk:case_action", args=[case.pk, "assign"]),
                           {"handler": accused.pk, "note": "", "version": case.version})
    assert response.status_code in (200, 400) and "回避" in response.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and case.handler is None


def test_bulk_assign_refuses_the_recused_case_and_does_the_rest(supervisor, client):
    (accused,) = agents(1)
    mine = CaseFactory(stage=Stage.TRIAGED, complained_employee=accused)
    other = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(supervisor)
    response = client.post(reverse("desk:bulk"), {
        "action": "assign", "agent": accused.pk, "cases": [mine.pk, other.pk]}, follow=True)
    text = response.content.decode()
    assert mine.reference in text and "回避" in text
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.handler is None and other.handler == accused


def test_transfer_task_force_triage_and_todos_refuse_the_recused(supervisor):
    accused, colleague = agents(2)
    case = CaseFactory(stage=Stage.RECEIVED, complained_employee=accused)
    with pytest.raises(InvalidInput, match="回避"):
        triage(case, accused)  # the triager would become the first-contact owner
    triage(case, supervisor)
    with pytest.raises(InvalidInput, match="回避"):
        services.case_transfer_ownership(actor=supervisor, case_id=case.pk,
                                         new_owner=accused, reason="休假")
    urgent = CaseFactory(stage=Stage.TRIAGED, tier=Tier.URGENT, complained_employee=accused)
    with pytest.raises(InvalidInput, match="回避"):
        services.case_assign(actor=supervisor, case_id=urgent.pk, handler=colleague,
                             department=DepartmentFactory(code="tf"),
                             task_force=[colleague, accused])


def test_agent_names_the_employee_in_the_workspace_and_it_is_logged(frontline, client):
    (accused,) = agents(1, prefix="acc")
    case = CaseFactory()
    client.force_login(frontline)
    url = reverse("desk:case_recusal", args=[case.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"version": case.version, "complained_employee": accused.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.complained_employee == accused
    assert CaseTransition.objects.filter(case=case, name="complained_employee").exists()
    audited = [e.changes for e in AuditEntry.objects.filter(case_id=case.pk, actor=frontline)]
    assert any("complained_employee" in changes for changes in audited), audited
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "回避" in page and str(accused) in page


def test_naming_the_current_handler_is_refused_until_reassigned(supervisor, frontline):
    case = CaseFactory(stage=Stage.ASSIGNED, handler=frontline)
    with pytest.raises(InvalidInput):
        case_set_complained_employee(actor=supervisor, case_id=case.pk, employee=frontline)


def test_desk_intake_form_and_api_take_the_employee(frontline, client, intake_env):
    (accused,) = agents(1, prefix="api")
    client.force_login(frontline)
    response = client.post(reverse("channels:log_complaint"), {
        "channel": "hotline", "name": "李雷", "phone": "13800001111",
        "preferred_channel": "phone", "category": "delivery", "subject": "快递员态度差",
        "description": "快递员辱骂客户。", "urgency": "routine", "scope": "individual",
        "difficulty": "frontline", "complained_employee": accused.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Case.objects.get(subject="快递员态度差").complained_employee == accused
    response = client.post(reverse("channels:log_complaint"), {
        "channel": "hotline", "name": "李雷", "phone": "13800001111",
        "preferred_channel": "phone", "category": "delivery", "subject": "自己",
        "description": "x", "urgency": "routine", "scope": "individual",
        "difficulty": "frontline", "complained_employee": frontline.pk})
    assert response.status_code == 400 and "回避" in response.content.decode()
    assert not Case.objects.filter(subject="自己").exists()


def test_new_urls_refuse_anonymous_and_liaisons(client, liaison):
    case = CaseFactory()
    for url in (reverse("desk:case_recusal", args=[case.pk]), reverse("desk:availability")):
        assert client.post(url).status_code == 302  # to the login page
        client.force_login(liaison)
        assert client.post(url).status_code == 403
        client.logout()
