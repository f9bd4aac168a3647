"""@-mentions in desk notes and board messages: who is alerted (only those who may see what
was written), where the alert leads, how the text shows them, and the autocomplete."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.choices import NoteKind, Role, Stage
from cases.models import Alert, CaseNote, CollaborationNote
from cases.selectors.mentions import find_mentions
from cases.services import case_add_note
from cases.services import collaboration as collab
from cases.services.errors import InvalidInput
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(dept_tree, frontline, frontline2):
    """A case handled by ``agent`` with a request to logistics; sales has none."""
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    req = collab.request_create(actor=frontline, case_id=case.pk,
                                department=dept_tree["logistics"], ask="核实物流轨迹")
    return {"case": case, "req": req, "agent": frontline, "agent2": frontline2,
            "logistics": dept_tree["logistics"].liaison, "sales": dept_tree["sales"].liaison}


def _mentions(user) -> list[Alert]:
    return list(Alert.objects.filter(recipient=user, kind="mention"))


# --- finding names ------------------------------------------------------------------------------
def test_names_are_found_by_username_code_and_chinese_name_without_a_space(world, dept_tree):
    dept_tree["logistics"].name = "物流部"
    dept_tree["logistics"].save()
    from django.core.cache import cache
    cache.clear()

    text = "请 @agent2 和 @物流部请尽快核实，抄送 @SALES. 邮件 a@agent2.com 不算"
    found = [(m.target.kind, text[m.start:m.end]) for m in find_mentions(text)]

    assert found == [("user", "@agent2"), ("department", "@物流部"), ("department", "@SALES")]


def test_a_longer_latin_word_is_not_a_shorter_name(world):
    assert find_mentions("@agent2x and @agentsmith") == []


# --- desk notes ---------------------------------------------------------------------------------
def test_a_note_alerts_the_agent_it_names_with_a_link_to_the_note(world):
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk,
                         body="@agent2 请帮忙看一下赔偿方案")

    (alert,) = _mentions(world["agent2"])
    assert alert.case_id == world["case"].pk
    assert alert.link == reverse("desk:case", args=[world["case"].pk]) + f"#note-{note.pk}"
    assert "赔偿方案" in alert.message
    assert [u.username for u in note.mention_outcome.alerted] == ["agent2"]


def test_a_department_mention_alerts_its_liaison_masked_and_linked_to_their_request(world):
    case_add_note(actor=world["agent"], case_id=world["case"].pk,
                  body="@logistics 客户电话 13800138000，请核实轨迹")

    (alert,) = _mentions(world["logistics"])
    assert alert.link == reverse("board:request", args=[world["req"].pk])
    assert "13800138000" not in alert.message and "138****8000" in alert.message


def test_nobody_outside_the_case_s_audience_is_alerted_and_the_author_is_told(client, world):
    client.force_login(world["agent"])
    response = client.post(reverse("desk:case_note", args=[world["case"].pk]),
                           {"kind": NoteKind.INTERNAL,
                            "body": "@sales @agent2 @sales-liaison 看看"})

    assert response.status_code == 302
    assert _mentions(world["sales"]) == []  # sales has no request on this case
    assert len(_mentions(world["agent2"])) == 1
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Not alerted" in t and "@sales" in t and "may not see this case" in t
               for t in texts)
    assert any("Alerted" in t for t in texts)


def test_the_author_and_unknown_names_alert_nobody(world):
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk,
                         body="@agent 自己提醒自己；@nobody-here 不存在")
    assert not Alert.objects.filter(kind="mention").exists()
    assert note.mention_outcome.alerted == []


def test_a_department_without_a_liaison_is_reported(world, dept_tree):
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk, body="@hq 请关注")
    assert note.mention_outcome.not_alerted == [("hq", "the department has no liaison")]


def test_a_refused_note_alerts_nobody(client, world):
    client.force_login(world["agent"])
    before = CaseNote.objects.count()
    response = client.post(reverse("desk:case_note", args=[world["case"].pk]),
                           {"kind": "bogus", "body": "@agent2 hi"})
    assert response.status_code == 400
    with pytest.raises(InvalidInput):
        case_add_note(actor=world["agent"], case_id=world["case"].pk, body="   ")
    assert CaseNote.objects.count() == before and not Alert.objects.filter(kind="mention")


# --- board messages -----------------------------------------------------------------------------
def test_a_board_message_alerts_those_who_see_the_request(client, world):
    client.force_login(world["logistics"])
    response = client.post(reverse("board:note_add", args=[world["req"].pk]),
                           {"body": "@agent 已核实；@sales 也请看看"})

    assert response.status_code == 302
    note = CollaborationNote.objects.get(request=world["req"], body__startswith="@agent")
    (alert,) = _mentions(world["agent"])
    assert alert.link == reverse("board:request", args=[world["req"].pk]) + f"#cnote-{note.pk}"
    assert _mentions(world["sales"]) == []  # another department's liaison: never
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("@sales" in t and "may not see" in t for t in texts)


def test_the_alert_list_links_to_the_mention(client, world):
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk, body="@agent2 请看")
    client.force_login(world["agent2"])
    html = client.get(reverse("desk:alerts")).content.decode()
    assert f'#note-{note.pk}"' in html


# --- how mentions show --------------------------------------------------------------------------
def test_mentions_show_as_badges_and_notes_have_anchors(client, world):
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk,
                         body="@agent2 与 @logistics <b>核实</b>")
    client.force_login(world["agent"])
    html = client.get(reverse("desk:case", args=[world["case"].pk])).content.decode()

    assert f'id="note-{note.pk}"' in html
    assert 'data-mention="user"' in html and 'data-mention="department"' in html
    assert "&lt;b&gt;核实&lt;/b&gt;" in html  # the rest of the text stays escaped


def test_the_board_page_shows_mentions_masked_for_the_liaison(client, world):
    collab.request_add_note(actor=world["agent"], request_id=world["req"].pk,
                            body="@logistics 客户 13800138000")
    client.force_login(world["logistics"])
    html = client.get(reverse("board:request", args=[world["req"].pk])).content.decode()
    assert 'data-mention="department"' in html and "13800138000" not in html


def _workspace_queries(client, case) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("desk:case", args=[case.pk])).status_code == 200
    return len(ctx.captured_queries)


def test_the_workspace_query_count_does_not_grow_with_mentions(client, world):
    case, agent = world["case"], world["agent"]
    case_add_note(actor=agent, case_id=case.pk, body="@agent2 第一条")
    client.force_login(agent)
    _workspace_queries(client, case)  # warm the per-process caches
    few = _workspace_queries(client, case)
    for i in range(15):
        case_add_note(actor=agent, case_id=case.pk, body=f"@agent2 @logistics 第 {i} 条")
    assert _workspace_queries(client, case) == few


# --- autocomplete -------------------------------------------------------------------------------
def test_the_case_autocomplete_lists_who_may_see_the_case(client, world):
    client.force_login(world["agent"])
    url = reverse("desk:case_mentions", args=[world["case"].pk])

    values = {r["value"] for r in client.get(url).json()["results"]}
    assert {"agent2", "logistics", "logistics-liaison"} <= values
    assert not values & {"sales", "sales-liaison"}
    assert [r["value"] for r in client.get(url, {"q": "agent2"}).json()["results"]] == ["agent2"]


def test_the_board_autocomplete_lists_agents_and_the_request_s_department(client, world):
    client.force_login(world["logistics"])
    results = client.get(reverse("board:request_mentions", args=[world["req"].pk]),
                         {"q": "log"}).json()["results"]
    assert {r["value"] for r in results} == {"logistics", "logistics-liaison"}


@pytest.mark.parametrize("who", ["anonymous", "other_liaison", "liaison_on_desk", "manager"])
def test_the_autocomplete_urls_are_404_or_login_for_outsiders(client, world, dept_tree, who):
    desk_url = reverse("desk:case_mentions", args=[world["case"].pk])
    board_url = reverse("board:request_mentions", args=[world["req"].pk])
    if who == "anonymous":
        for url in (desk_url, board_url):
            response = client.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    user = {"other_liaison": world["sales"], "liaison_on_desk": world["logistics"],
            "manager": UserFactory(username="no-role")}[who]
    client.force_login(user)
    assert client.get(desk_url).status_code == 404
    if who != "liaison_on_desk":
        assert client.get(board_url).status_code == 404


def test_an_unknown_case_or_request_is_404(client, world):
    client.force_login(world["agent"])
    assert client.get(reverse("desk:case_mentions", args=[999999])).status_code == 404
    assert client.get(reverse("board:request_mentions", args=[999999])).status_code == 404


def test_a_liaison_is_not_offered_as_seeing_a_case_through_a_role_they_lack(world):
    outsider = UserFactory(username="outsider", role=Role.LIAISON)
    note = case_add_note(actor=world["agent"], case_id=world["case"].pk, body="@outsider 看看")
    assert note.mention_outcome.not_alerted == [("outsider", "may not see this case")]
    assert _mentions(outsider) == []
