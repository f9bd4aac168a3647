"""The shared board pages: permission matrix for two liaisons, an agent and a supervisor,
masking on the request page, filters, and query counts that do not grow with the cards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from cases.choices import NoteKind, Role, Stage, Tier
from cases.models import CollaborationRequest
from cases.models.collaboration import RequestStatus
from cases.services import case_add_note
from cases.services import collaboration as collab
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(dept_tree, supervisor):
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE, display_name="CS agent")
    agent.department = dept_tree["cs"]
    agent.save(update_fields=["department"])
    case_a = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, phone="13812341234",
                         email="wang.fang@example.com", customer_name="王芳")
    case_b = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, phone="13900001111")
    req_a = collab.request_create(actor=agent, case_id=case_a.pk,
                                  department=dept_tree["logistics"], ask="核实物流轨迹 A")
    req_b = collab.request_create(actor=agent, case_id=case_b.pk,
                                  department=dept_tree["sales"], ask="核实促销规则 B")
    case_add_note(actor=agent, case_id=case_a.pk, body="内部备注：客户情绪激动",
                  kind=NoteKind.INTERNAL)
    return {
        "agent": agent, "supervisor": supervisor,
        "liaison_a": dept_tree["logistics"].liaison, "liaison_b": dept_tree["sales"].liaison,
        "case_a": case_a, "case_b": case_b, "req_a": req_a, "req_b": req_b, **dept_tree,
    }


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


# --- the permission matrix ----------------------------------------------------------------------
READ_MATRIX = [
    # (who, request, expected status of the request page)
    ("liaison_a", "req_a", 200), ("liaison_a", "req_b", 404),
    ("liaison_b", "req_a", 404), ("liaison_b", "req_b", 200),
    ("agent", "req_a", 200), ("agent", "req_b", 200),
    ("supervisor", "req_a", 200), ("supervisor", "req_b", 200),
]


@pytest.mark.parametrize(("who", "req", "status"), READ_MATRIX)
def test_request_page_matrix(client, world, who, req, status):
    url = reverse("board:request", args=[world[req].pk])
    assert get(client, world[who], url).status_code == status


@pytest.mark.parametrize(
    ("who", "sees", "hidden"),
    [
        ("liaison_a", ["核实物流轨迹 A"], ["核实促销规则 B"]),
        ("liaison_b", ["核实促销规则 B"], ["核实物流轨迹 A"]),
        ("agent", ["核实物流轨迹 A", "核实促销规则 B"], []),
        ("supervisor", ["核实物流轨迹 A", "核实促销规则 B"], []),
    ],
)
def test_board_matrix(client, world, who, sees, hidden):
    response = get(client, world[who], reverse("board:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert all(text in html for text in sees)
    assert not any(text in html for text in hidden)


def test_a_liaison_cannot_widen_the_board_with_a_department_filter(client, world):
    url = reverse("board:index") + f"?department={world['sales'].pk}"
    html = get(client, world["liaison_a"], url).content.decode()
    assert "核实物流轨迹 A" in html and "核实促销规则 B" not in html
    assert "Logistics" in html  # lands on their own department's board


TRANSITION_MATRIX = [
    # (who, request, action, expected HTTP status, status afterwards)
    ("liaison_b", "req_a", "answer", 404, RequestStatus.OPEN),  # another department's request
    ("agent", "req_a", "answer", 403, RequestStatus.OPEN),  # agents do not answer for a dept
    ("liaison_a", "req_a", "withdraw", 403, RequestStatus.OPEN),  # only the asking side
    ("liaison_a", "req_a", "answer", 302, RequestStatus.ANSWERED),
    ("supervisor", "req_b", "answer", 302, RequestStatus.ANSWERED),
    ("agent", "req_b", "withdraw", 302, RequestStatus.WITHDRAWN),
]


@pytest.mark.parametrize(("who", "req", "action", "code", "after"), TRANSITION_MATRIX)
def test_transition_matrix(client, world, who, req, action, code, after):
    client.force_login(world[who])
    field = {"answer": "plan", "withdraw": "reason"}[action]
    response = client.post(reverse("board:action", args=[world[req].pk, action]),
                           {field: "明日补发", "version": world[req].version})
    assert response.status_code == code
    assert CollaborationRequest.objects.get(pk=world[req].pk).status == after


def test_answer_then_accept_over_http(client, world):
    req = world["req_a"]
    client.force_login(world["liaison_a"])
    client.post(reverse("board:action", args=[req.pk, "answer"]), {"plan": "顺丰加急补发"})
    client.force_login(world["agent"])
    assert client.post(reverse("board:action", args=[req.pk, "accept"]),
                       {"next": reverse("board:index")}).url == reverse("board:index")
    req.refresh_from_db()
    world["case_a"].refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED
    assert world["case_a"].stage == Stage.IN_PROGRESS


def test_bad_input_is_a_message_not_a_500(client, world):
    client.force_login(world["liaison_a"])
    req = world["req_a"]
    response = client.post(reverse("board:action", args=[req.pk, "answer"]), {"plan": ""},
                           follow=True)
    assert response.status_code == 200
    assert "Describe the proposed plan" in response.content.decode()
    response = client.post(reverse("board:action", args=[req.pk, "answer"]),
                           {"plan": "p", "version": req.version + 3}, follow=True)
    assert "Someone else changed this request" in response.content.decode()
    assert client.post(reverse("board:action", args=[req.pk, "explode"])).status_code == 404
    assert client.get(reverse("board:action", args=[req.pk, "answer"])).status_code == 405
    req.refresh_from_db()
    assert req.status == RequestStatus.OPEN


def test_case_urls_are_closed_to_liaisons(client, world):
    liaison = world["liaison_a"]
    # The create form is agents' only, even for a case of the liaison's own department.
    assert get(client, liaison, reverse("board:new", args=[world["case_a"].pk])).status_code \
        == 404
    assert get(client, liaison, reverse("board:new", args=[world["case_b"].pk])).status_code \
        == 404
    try:
        desk_case = reverse("desk:case", args=[world["case_b"].pk])
    except NoReverseMatch:
        pytest.skip("the desk's case workspace is not wired yet")
    # Another department's case: not reachable; the own one neither (the board is the way in).
    assert get(client, liaison, desk_case).status_code in (403, 404)
    own = reverse("desk:case", args=[world["case_a"].pk])
    assert get(client, liaison, own).status_code in (403, 404)


def test_anonymous_users_go_to_the_login(client, world):
    for url in (reverse("board:index"), reverse("board:request", args=[world["req_a"].pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


# --- what a liaison sees of the case ------------------------------------------------------------
def test_liaison_sees_masked_contact_data_and_no_internal_notes(client, world):
    html = get(client, world["liaison_a"],
               reverse("board:request", args=[world["req_a"].pk])).content.decode()
    assert "王芳" in html  # the name is not contact data
    assert "138****1234" in html and "13812341234" not in html
    assert "w***@example.com" in html and "wang.fang@example.com" not in html
    assert "内部备注" not in html
    assert world["case_a"].subject in html


def test_agent_sees_the_contact_data_in_full(client, world):
    html = get(client, world["agent"],
               reverse("board:request", args=[world["req_a"].pk])).content.decode()
    assert "13812341234" in html and "wang.fang@example.com" in html


# --- the create form ----------------------------------------------------------------------------
def test_agent_asks_a_department_from_a_case(client, world):
    case = world["case_b"]
    client.force_login(world["agent"])
    url = reverse("board:new", args=[case.pk])
    page = client.get(url).content.decode()
    assert "Logistics" in page and "Customer service" not in page  # not the agent's own
    response = client.post(url, {"department": world["logistics"].pk, "ask": "请核实签收记录"})
    req = CollaborationRequest.objects.get(case=case, department=world["logistics"])
    assert response.status_code == 302 and response.url == reverse("board:request",
                                                                   args=[req.pk])
    again = client.post(url, {"department": world["logistics"].pk, "ask": "再问一次"})
    assert again.status_code == 400 and "already waiting" in again.content.decode()
    assert client.post(url, {"department": "", "ask": ""}).status_code == 400


def test_an_agent_off_the_case_team_may_not_ask(client, world, frontline2):
    response = get(client, frontline2, reverse("board:new", args=[world["case_a"].pk]))
    assert response.status_code == 403


# --- filters ------------------------------------------------------------------------------------
def test_filters_by_department_tier_and_overdue(client, world):
    client.force_login(world["supervisor"])
    index = reverse("board:index")
    html = client.get(index, {"department": world["sales"].pk}).content.decode()
    assert "核实促销规则 B" in html and "核实物流轨迹 A" not in html
    html = client.get(index, {"tier": Tier.URGENT}).content.decode()
    assert "核实物流轨迹 A" not in html and "核实促销规则 B" not in html
    html = client.get(index, {"overdue": "true"}).content.decode()
    assert "核实物流轨迹 A" not in html
    CollaborationRequest.objects.filter(pk=world["req_a"].pk).update(
        due_at=world["req_a"].created_at - timedelta(minutes=1))
    html = client.get(index, {"overdue": "true"}).content.decode()
    assert "核实物流轨迹 A" in html and "核实促销规则 B" not in html
    assert client.get(index, {"tier": "nonsense"}).status_code == 200


def test_cards_show_todos_and_latest_progress(client, world):
    req, liaison = world["req_a"], world["liaison_a"]
    collab.todo_add(actor=liaison, request_id=req.pk, title="调取监控", assignee=liaison)
    collab.request_add_note(actor=liaison, request_id=req.pk, body="第一条进展")
    collab.request_add_note(actor=liaison, request_id=req.pk, body="最新进展：已联系网点")
    html = get(client, liaison, reverse("board:index")).content.decode()
    assert "调取监控" in html and "最新进展：已联系网点" in html and "第一条进展" not in html
    assert world["case_a"].reference in html


# --- query counts -------------------------------------------------------------------------------
def _more_requests(world, n):
    for i in range(n):
        case = CaseFactory(stage=Stage.IN_PROGRESS, handler=world["agent"])
        dept = world["logistics"] if i % 2 else world["sales"]
        req = collab.request_create(actor=world["agent"], case_id=case.pk, department=dept,
                                    ask=f"ask {i}")
        collab.todo_add(actor=world["agent"], request_id=req.pk, title=f"todo {i}")
        collab.request_add_note(actor=dept.liaison, request_id=req.pk, body=f"note {i}")
        if i % 3 == 0:
            collab.request_answer(actor=dept.liaison, request_id=req.pk, plan=f"plan {i}")


def _count(client, user, url):
    client.force_login(user)
    client.get(url)  # warm: the user's roles are cached from the first request on
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["supervisor", "liaison_a", "agent"])
def test_board_queries_do_not_grow_with_the_cards(client, world, who):
    url = reverse("board:index")
    _more_requests(world, 1)  # one of each kind of card (and alert) before the first count
    few = _count(client, world[who], url)
    _more_requests(world, 9)
    many = _count(client, world[who], url)
    assert many == few
    assert many <= 15


def test_request_page_is_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    req, liaison = world["req_a"], world["liaison_a"]
    for i in range(6):
        collab.todo_add(actor=liaison, request_id=req.pk, title=f"todo {i}", assignee=liaison)
        collab.request_add_note(actor=liaison, request_id=req.pk, body=f"note {i}")
    client.force_login(liaison)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("board:request", args=[req.pk])).status_code == 200


# --- the case workspace's panel -----------------------------------------------------------------
def test_workspace_panel_shows_the_wait_and_the_request_button(client, world):
    html = get(client, world["agent"],
               reverse("desk:case", args=[world["case_a"].pk])).content.decode()
    assert 'id="collaboration"' in html
    assert reverse("board:new", args=[world["case_a"].pk]) in html
    assert "Waiting on" in html and "Logistics" in html
    assert reverse("board:request", args=[world["req_a"].pk]) in html


def test_a_manager_without_a_desk_role_decides_an_escalation_from_the_board(client, world):
    # Sales' request: customer service and sales meet at hq... make operations the meeting
    # point instead by asking from a logistics supervisor.
    asker = UserFactory(username="log-sup", role=Role.SUPERVISOR)
    asker.department = world["logistics"]
    asker.save(update_fields=["department"])
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=world["agent"])
    req = collab.request_create(actor=asker, case_id=case.pk, department=world["sales"],
                                ask="促销价差额退还")
    collab.request_answer(actor=world["liaison_b"], request_id=req.pk, plan="不予退还")
    collab.request_dispute(actor=asker, request_id=req.pk, reason="页面承诺保价")
    manager = world["ops_mgr"]  # manages operations, has no desk role

    html = get(client, manager, reverse("board:index")).content.decode()
    assert "促销价差额退还" in html and "核实物流轨迹 A" not in html
    assert "not the liaison" not in html
    response = client.post(reverse("board:action", args=[req.pk, "decide"]),
                           {"decision": "按保价承诺退还差额"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.status, req.decided_by) == (RequestStatus.DECIDED, manager)
    assert get(client, manager, reverse("board:request", args=[world["req_a"].pk])
               ).status_code == 404


def test_the_liaison_sees_request_alerts_on_the_board(client, world):
    html = get(client, world["liaison_a"], reverse("board:index")).content.decode()
    assert 'id="board-alerts"' in html
    assert reverse("board:request", args=[world["req_a"].pk]) in html
    assert world["case_a"].reference in html
