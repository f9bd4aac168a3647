"""Collaboration requests: lifecycle, escalation target, case stage, clocks, alerts, sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from cases.choices import Clock, Role, SlaState, Stage
from cases.departments import lowest_common_parent
from cases.models import Alert, CaseDeadline, CaseTransition, CollaborationRequest
from cases.models.collaboration import RequestStatus
from cases.selectors.board import available_actions
from cases.services import collaboration as collab
from cases.services.errors import (
    ActionForbidden,
    ActionNotAllowed,
    ConflictError,
    InvalidInput,
)
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- the escalation target in the department tree ----------------------------------------------
@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("logistics", "sales", "operations"),  # siblings meet at their parent
        ("logistics", "product", "hq"),  # cousins meet at their grandparent
        ("cs", "logistics", "hq"),  # aunt and nephew: customer service asks logistics
        ("operations", "logistics", "operations"),  # one under the other: the upper one
        ("logistics", "operations", "operations"),  # ... in either order
        ("hq", "product", "hq"),  # two levels apart
        ("sales", "sales", "sales"),  # a department with itself
        ("logistics", "island", None),  # separate trees: no common parent
    ],
)
def test_lowest_common_parent(dept_tree, first, second, expected):
    result = lowest_common_parent(dept_tree[first], dept_tree[second])
    assert (result.code if result else None) == expected


def test_lowest_common_parent_with_a_missing_side_is_none(dept_tree):
    assert lowest_common_parent(None, dept_tree["sales"]) is None


def test_lowest_common_parent_survives_a_cycle(dept_tree):
    hq = dept_tree["hq"]
    hq.parent = dept_tree["logistics"]  # an admin mistake: hq under its own grandchild
    hq.save()
    # Terminates with some ancestor of both instead of looping forever.
    assert lowest_common_parent(dept_tree["sales"], dept_tree["product"]).code in {
        "hq", "operations", "logistics"}


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def agent(dept_tree):
    user = UserFactory(username="cs-agent", role=Role.FRONTLINE, display_name="CS agent")
    user.department = dept_tree["cs"]
    user.save(update_fields=["department"])
    return user


@pytest.fixture
def case(agent):
    return CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, phone="13812341234")


def ask(case, agent, dept, text="请核实物流轨迹并给出补发方案"):
    return collab.request_create(actor=agent, case_id=case.pk, department=dept, ask=text)


def timeline(case):
    return list(
        CaseTransition.objects.filter(case=case, field="request").values_list("name", "target")
    )


# --- the lifecycle ------------------------------------------------------------------------------
def test_request_waits_the_case_starts_the_clock_and_tells_the_liaison(case, agent, dept_tree):
    req = ask(case, agent, dept_tree["logistics"])

    case.refresh_from_db()
    assert req.status == RequestStatus.OPEN
    assert case.stage == Stage.WAITING_DEPARTMENT
    assert req.requesting_department == dept_tree["cs"]
    assert req.due_at - req.created_at == timedelta(hours=24)
    row = CaseDeadline.objects.get(request=req)
    assert (row.clock, row.due_at, row.stopped_at) == (Clock.DEPARTMENT, req.due_at, None)
    assert case.next_due_at <= req.due_at
    assert timeline(case) == [("request_help", "open")]
    assert CaseTransition.objects.filter(case=case, name="wait_for_department").exists()
    alert = Alert.objects.get(recipient=dept_tree["logistics"].liaison)
    assert case.reference in alert.message


def test_answer_accept_complete(case, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    req = ask(case, agent, dept_tree["logistics"])

    req = collab.request_answer(actor=liaison, request_id=req.pk, plan="明日补发，顺丰加急")
    assert req.status == RequestStatus.ANSWERED and req.answered_by == liaison
    assert CaseDeadline.objects.get(request=req).stopped_at is not None
    case.refresh_from_db()
    assert case.stage == Stage.WAITING_DEPARTMENT  # no agreed plan yet
    assert Alert.objects.filter(recipient=agent, kind=collab.ALERT_ANSWERED).exists()

    req = collab.request_accept(actor=agent, request_id=req.pk)
    case.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED
    assert case.stage == Stage.IN_PROGRESS  # resumed: the plan is agreed

    req = collab.request_complete(actor=liaison, request_id=req.pk, note="已签收")
    assert req.status == RequestStatus.DONE and req.closed_at is not None
    assert timeline(case) == [
        ("request_help", "open"), ("answer", "answered"), ("accept", "accepted"),
        ("complete", "done"),
    ]


def test_dispute_escalates_to_the_lowest_common_parents_manager(case, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    req = ask(case, agent, dept_tree["logistics"])
    collab.request_answer(actor=liaison, request_id=req.pk, plan="客户自行到网点取件")

    req = collab.request_dispute(actor=agent, request_id=req.pk, reason="客户行动不便")

    assert req.status == RequestStatus.ESCALATED
    assert req.escalated_to == dept_tree["hq"]  # customer service and logistics meet at hq
    assert Alert.objects.filter(recipient=dept_tree["gm"], kind=collab.ALERT_ESCALATED).exists()
    other_supervisor = UserFactory(username="boss2", role=Role.SUPERVISOR)
    with pytest.raises(ActionForbidden):
        collab.request_decide(actor=other_supervisor, request_id=req.pk, decision="x")
    with pytest.raises(ActionForbidden):
        collab.request_decide(actor=liaison, request_id=req.pk, decision="x")

    req = collab.request_decide(actor=dept_tree["gm"], request_id=req.pk, decision="上门取件")
    case.refresh_from_db()
    assert (req.status, req.decided_by) == (RequestStatus.DECIDED, dept_tree["gm"])
    assert case.stage == Stage.IN_PROGRESS
    req = collab.request_complete(actor=agent, request_id=req.pk)
    assert req.status == RequestStatus.DONE


def test_dispute_between_siblings_goes_to_their_parent(case, dept_tree):
    # A sales agent (sales is logistics' sibling) asks logistics: operations decides.
    sales_agent = UserFactory(username="sales-agent", role=Role.SUPERVISOR)
    sales_agent.department = dept_tree["sales"]
    sales_agent.save(update_fields=["department"])
    req = ask(case, sales_agent, dept_tree["logistics"])
    collab.request_answer(actor=dept_tree["logistics"].liaison, request_id=req.pk, plan="p")
    req = collab.request_dispute(actor=sales_agent, request_id=req.pk, reason="r")
    assert req.escalated_to == dept_tree["operations"]
    assert collab.request_decide(
        actor=dept_tree["ops_mgr"], request_id=req.pk, decision="d"
    ).status == RequestStatus.DECIDED


def test_without_a_common_parent_a_supervisor_decides(case, agent, dept_tree):
    req = ask(case, agent, dept_tree["island"])
    collab.request_answer(actor=dept_tree["island"].liaison, request_id=req.pk, plan="p")
    req = collab.request_dispute(actor=agent, request_id=req.pk, reason="r")
    assert req.escalated_to is None
    with pytest.raises(ActionForbidden):
        collab.request_decide(actor=agent, request_id=req.pk, decision="d")
    boss = UserFactory(username="boss3", role=Role.SUPERVISOR)
    assert collab.request_decide(actor=boss, request_id=req.pk, decision="d").decided_by == boss


def test_withdraw_stops_the_clock_and_resumes_the_case(case, agent, dept_tree):
    req = ask(case, agent, dept_tree["logistics"])
    req = collab.request_withdraw(actor=agent, request_id=req.pk, reason="客户已自行解决")
    case.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN
    assert case.stage == Stage.IN_PROGRESS
    assert CaseDeadline.objects.get(request=req).stopped_at is not None


def test_the_case_waits_until_every_request_has_an_agreed_plan(case, agent, dept_tree):
    first = ask(case, agent, dept_tree["logistics"])
    second = ask(case, agent, dept_tree["sales"])
    collab.request_answer(actor=dept_tree["logistics"].liaison, request_id=first.pk, plan="p")
    collab.request_accept(actor=agent, request_id=first.pk)
    case.refresh_from_db()
    assert case.stage == Stage.WAITING_DEPARTMENT
    collab.request_withdraw(actor=agent, request_id=second.pk, reason="不需要了")
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS


# --- refusals change nothing --------------------------------------------------------------------
def test_refusals(case, agent, dept_tree, frontline2):
    logistics = dept_tree["logistics"]
    with pytest.raises(InvalidInput):
        ask(case, agent, logistics, text="   ")
    with pytest.raises(InvalidInput):
        ask(case, agent, dept_tree["operations"])  # no liaison
    insider = UserFactory(username="logistics-boss", role=Role.SUPERVISOR)
    insider.department = logistics
    insider.save(update_fields=["department"])
    with pytest.raises(InvalidInput, match="own department"):
        ask(case, insider, logistics)
    with pytest.raises(ActionForbidden):
        ask(case, frontline2, logistics)  # not on the case team
    with pytest.raises(ActionForbidden):
        ask(case, logistics.liaison, dept_tree["sales"])
    assert not CollaborationRequest.objects.exists()
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS

    req = ask(case, agent, logistics)
    with pytest.raises(InvalidInput):
        ask(case, agent, logistics)  # already waiting on logistics
    with pytest.raises(InvalidInput):
        collab.request_answer(actor=logistics.liaison, request_id=req.pk, plan=" ")
    with pytest.raises(ActionForbidden):
        collab.request_answer(actor=dept_tree["sales"].liaison, request_id=req.pk, plan="p")
    with pytest.raises(ActionNotAllowed):
        collab.request_accept(actor=agent, request_id=req.pk)  # nothing to accept yet
    with pytest.raises(ConflictError):
        collab.request_answer(actor=logistics.liaison, request_id=req.pk, plan="p",
                              expected_version=req.version + 5)
    req.refresh_from_db()
    assert (req.status, req.plan) == (RequestStatus.OPEN, "")


def test_a_closed_case_cannot_ask(agent, dept_tree):
    closed = CaseFactory(stage=Stage.CLOSED, handler=agent)
    with pytest.raises(ActionNotAllowed):
        ask(closed, agent, dept_tree["logistics"])


# --- the transition graph per role --------------------------------------------------------------
ROLES = ("liaison_a", "liaison_b", "requester", "other_agent", "supervisor", "manager")
EXPECTED = {
    RequestStatus.OPEN: {
        "liaison_a": {"answer"}, "liaison_b": set(), "requester": {"withdraw"},
        "other_agent": set(), "supervisor": {"answer", "withdraw"}, "manager": {"answer",
                                                                              "withdraw"},
    },
    RequestStatus.ANSWERED: {
        "liaison_a": set(), "liaison_b": set(), "requester": {"accept", "dispute", "withdraw"},
        "other_agent": set(), "supervisor": {"accept", "dispute", "withdraw"},
        "manager": {"accept", "dispute", "withdraw"},
    },
    RequestStatus.ESCALATED: {
        "liaison_a": set(), "liaison_b": set(), "requester": set(), "other_agent": set(),
        "supervisor": set(), "manager": {"decide"},
    },
    RequestStatus.DECIDED: {
        "liaison_a": {"complete"}, "liaison_b": set(), "requester": {"complete"},
        "other_agent": set(), "supervisor": {"complete"}, "manager": {"complete"},
    },
}


def _walk_to(status, req, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    if status == RequestStatus.OPEN:
        return req
    req = collab.request_answer(actor=liaison, request_id=req.pk, plan="p")
    if status == RequestStatus.ANSWERED:
        return req
    req = collab.request_dispute(actor=agent, request_id=req.pk, reason="r")
    if status == RequestStatus.ESCALATED:
        return req
    return collab.request_decide(actor=dept_tree["gm"], request_id=req.pk, decision="d")


@pytest.mark.parametrize("status", list(EXPECTED))
def test_transition_graph_per_role(status, case, agent, dept_tree, frontline2):
    req = _walk_to(status, ask(case, agent, dept_tree["logistics"]), agent, dept_tree)
    actors = {
        "liaison_a": dept_tree["logistics"].liaison, "liaison_b": dept_tree["sales"].liaison,
        "requester": agent, "other_agent": frontline2,
        "supervisor": UserFactory(username="sup-x", role=Role.SUPERVISOR),
        "manager": dept_tree["gm"],  # hq's manager is also a supervisor
    }
    fresh = CollaborationRequest.objects.select_related(
        "department", "escalated_to", "case").get(pk=req.pk)
    got = {role: {a.name for a in available_actions(fresh, actors[role])} for role in ROLES}
    assert got == EXPECTED[status]


# --- to-dos and progress notes ------------------------------------------------------------------
def test_todos_gate_completion_and_notes_reach_the_timeline(case, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    req = ask(case, agent, dept_tree["logistics"])
    collab.request_answer(actor=liaison, request_id=req.pk, plan="补发")
    collab.request_accept(actor=agent, request_id=req.pk)
    todo = collab.todo_add(actor=liaison, request_id=req.pk, title="安排补发", assignee=liaison,
                           due_at=timezone.now() + timedelta(hours=4))
    with pytest.raises(InvalidInput):
        collab.todo_add(actor=liaison, request_id=req.pk, title="x",
                        due_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(InvalidInput):  # not a department member nor the requesting side
        collab.todo_add(actor=liaison, request_id=req.pk, title="x",
                        assignee=dept_tree["sales"].liaison)
    with pytest.raises(ActionForbidden):
        collab.todo_add(actor=dept_tree["sales"].liaison, request_id=req.pk, title="x")
    with pytest.raises(ActionNotAllowed):
        collab.request_complete(actor=liaison, request_id=req.pk)

    assert collab.todo_toggle(actor=liaison, todo_id=todo.pk).done_by == liaison
    collab.request_add_note(actor=liaison, request_id=req.pk, body="已发出，单号 SF123")
    assert collab.request_complete(actor=liaison, request_id=req.pk).status == "done"
    assert ("request_note", "accepted") in timeline(case)
    with pytest.raises(ActionNotAllowed):
        collab.request_add_note(actor=liaison, request_id=req.pk, body="late")


# --- overdue ------------------------------------------------------------------------------------
def test_overdue_sweep_breaches_alerts_once_and_flags_the_case(case, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    req = ask(case, agent, dept_tree["logistics"])
    later = req.due_at + timedelta(minutes=1)

    assert collab.request_overdue_sweep(req.due_at - timedelta(minutes=1)) == 0
    with time_machine.travel(later, tick=False):
        assert collab.request_overdue_sweep(later) == 1
        assert collab.request_overdue_sweep(later) == 0  # idempotent

    row = CaseDeadline.objects.get(request=req)
    assert (row.state, row.stopped_at) == (SlaState.BREACHED, None)
    kinds = Alert.objects.filter(kind=collab.ALERT_OVERDUE)
    assert sorted(a.recipient.username for a in kinds) == sorted([liaison.username,
                                                                   agent.username])
    case.refresh_from_db()
    assert case.sla_state == SlaState.BREACHED and case.ever_breached
    assert ("request_overdue", "open") in timeline(case)

    with time_machine.travel(later + timedelta(hours=1), tick=False):
        collab.request_answer(actor=liaison, request_id=req.pk, plan="迟到的方案")
    row.refresh_from_db()
    assert row.stopped_at is not None and row.state == SlaState.BREACHED


def test_a_late_answer_without_a_sweep_still_counts_as_breached(case, agent, dept_tree):
    req = ask(case, agent, dept_tree["logistics"])
    with time_machine.travel(req.due_at + timedelta(hours=2), tick=False):
        collab.request_answer(actor=dept_tree["logistics"].liaison, request_id=req.pk, plan="p")
    row = CaseDeadline.objects.get(request=req)
    assert row.state == SlaState.BREACHED and row.breached_at == req.due_at


def test_the_periodic_deadline_sweep_runs_the_request_sweep(case, agent, dept_tree):
    from cases.tasks import deadline_sweep_task

    req = ask(case, agent, dept_tree["logistics"])
    later = req.due_at + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        first = deadline_sweep_task()
        deadline_sweep_task()
    assert first["requests_overdue"] == 1
    overdue = Alert.objects.filter(kind=collab.ALERT_OVERDUE)
    assert {a.recipient_id for a in overdue} == {agent.pk, dept_tree["logistics"].liaison_id}
    assert overdue.count() == 2
    case.refresh_from_db()
    assert case.sla_state == SlaState.BREACHED
