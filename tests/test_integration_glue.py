"""Where the desk and the shared board meet: the workspace's collaboration panel and its
"ask a department" rule, request steps on the case timeline (labelled, not duplicated, linked
to the request page), alert links for people without a desk, and the countdown's units."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from cases import permissions as perms
from cases.choices import Role, Stage, Tier
from cases.models import Alert, CollaborationRequest
from cases.models.collaboration import RequestStatus
from cases.selectors import state_label, transition_label
from cases.services import collaboration as collab
from cases.transition_labels import TRANSITION_LABELS
from tests.factories import CaseFactory, UserFactory
from tests.test_desk_queries import CASE_PAGE_MAX_QUERIES


@pytest.fixture
def agent(dept_tree):
    user = UserFactory(username="cs-agent", role=Role.FRONTLINE, display_name="CS agent")
    user.department = dept_tree["cs"]
    user.save(update_fields=["department"])
    return user


@pytest.fixture
def case(agent):
    return CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)


def _page(client, user, case):
    client.force_login(user)
    response = client.get(reverse("desk:case", args=[case.pk]))
    assert response.status_code == 200
    return response


# --- 1a: the panel gets the board's data and its permission ---------------------------------------
@pytest.mark.django_db
def test_request_help_is_a_permission_predicate_the_service_uses(case, agent, frontline):
    assert collab.can_request_help is perms.can_request_help
    assert perms.can_request_help(case, agent)  # the handler
    assert not perms.can_request_help(case, frontline)  # an agent off the case team


@pytest.mark.django_db
def test_workspace_panel_reads_the_board_selector(client, case, agent, dept_tree):
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask="核实物流轨迹")
    collab.todo_add(actor=dept_tree["logistics"].liaison, request_id=req.pk, title="调取签收记录")
    response = _page(client, agent, case)
    panel = response.context["collaboration"]
    assert [r.pk for r in panel.requests] == [req.pk] and panel.can_request
    assert "1 open to-do" in response.content.decode()  # only the board's selector counts them


@pytest.mark.django_db
def test_a_task_force_member_may_ask_a_department(client, frontline, senior):
    # The template's fallback showed the button only to the owner, handler and supervisors.
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.URGENT, handler=frontline)
    case.task_force.add(senior)
    assert senior.pk not in (case.owner_id, case.handler_id)
    assert reverse("board:new", args=[case.pk]) in _page(client, senior, case).content.decode()


@pytest.mark.django_db
def test_request_button_in_the_second_follow_up(client, frontline):
    # ... and hid it from the handler in the second follow-up, where asking is allowed.
    case = CaseFactory(stage=Stage.FOLLOW_UP, handler=frontline)
    html = _page(client, frontline, case).content.decode()
    assert reverse("board:new", args=[case.pk]) in html


# --- 1b / 1c: the timeline ----------------------------------------------------------------------
def test_request_rows_have_status_and_step_labels():
    with translation.override("en"):
        assert state_label("request", RequestStatus.ANSWERED) == "Plan proposed"
        assert state_label("stage", Stage.RESOLVED) == str(Stage.RESOLVED.label)
        for name in ("request_help", "request_note", "request_overdue"):
            assert name in TRANSITION_LABELS
            assert transition_label(name) != name.replace("_", " ")


def test_request_step_labels_are_translated_to_chinese():
    with translation.override("zh-hans"):
        labels = [str(TRANSITION_LABELS[n]) for n in
                  ("request_help", "request_note", "request_overdue")]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels), labels


@pytest.mark.django_db
def test_timeline_shows_a_request_once_linked_to_its_page(client, case, agent, dept_tree):
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask="核实物流轨迹")
    collab.request_answer(actor=dept_tree["logistics"].liaison, request_id=req.pk,
                          plan="明日补发")
    with translation.override("en"):
        response = _page(client, agent, case)
    timeline = response.context["ws"].timeline
    assert not [e for e in timeline if e.kind == "collaboration"]
    rows = {e.obj.name: e for e in timeline if getattr(e.obj, "field", "") == "request"}
    assert set(rows) == {"request_help", "answer"}
    assert rows["answer"].extra["source"] == "Open"
    assert rows["answer"].extra["target"] == "Plan proposed"
    url = reverse("board:request", args=[req.pk])
    assert all(e.extra["request_url"] == url for e in rows.values())
    html = response.content.decode()
    assert 'data-kind="collaboration"' not in html
    assert "Help requested from Logistics" not in html  # the old duplicate entry's heading
    assert "Help requested from a department" in html and url in html


@pytest.mark.django_db
def test_a_request_without_its_log_row_still_shows(client, case, agent, dept_tree):
    # Written before the board logged its steps (or imported): the request row is all there is.
    req = CollaborationRequest.objects.create(
        case=case, department=dept_tree["sales"], requested_by=agent, ask="旧的协作请求",
        created_at=timezone.now(), due_at=timezone.now(),
    )
    timeline = _page(client, agent, case).context["ws"].timeline
    (entry,) = [e for e in timeline if e.kind == "collaboration"]
    assert entry.obj.pk == req.pk
    assert entry.extra["request_url"] == reverse("board:request", args=[req.pk])


@pytest.mark.django_db
def test_case_page_queries_do_not_grow_with_requests(client, supervisor, dept_tree):
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.IMPORTANT, handler=supervisor)
    client.force_login(supervisor)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("desk:case", args=[case.pk])).status_code == 200
        return len(ctx.captured_queries)

    collab.request_create(actor=supervisor, case_id=case.pk, department=dept_tree["logistics"],
                          ask="核实物流")
    count()  # warm: the user's roles are cached from the first request on
    few = count()
    for code in ("sales", "island"):
        req = collab.request_create(actor=supervisor, case_id=case.pk,
                                    department=dept_tree[code], ask=f"请 {code} 协助")
        collab.request_add_note(actor=dept_tree[code].liaison, request_id=req.pk, body="处理中")
    # The requests' creation rows are found on the timeline's page of transitions (issue 15,
    # issue 18): the page stays within the case page's budget.
    assert count() == few <= CASE_PAGE_MAX_QUERIES


# --- 1d: alert links ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_liaison_s_alerts_open_the_request_not_the_desk(client, case, agent, dept_tree):
    liaison = dept_tree["logistics"].liaison
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask="核实物流轨迹")
    # One alert tied to the request's clock, one only to the case, one to a case they cannot see.
    Alert.objects.create(recipient=liaison, case=case, kind="request_closed", message="已关闭",
                         created_at=timezone.now())
    other = CaseFactory(stage=Stage.IN_PROGRESS)
    Alert.objects.create(recipient=liaison, case=other, kind="request_closed", message="别的",
                         created_at=timezone.now())
    client.force_login(liaison)
    html = client.get(reverse("desk:alerts")).content.decode()
    assert Alert.objects.filter(recipient=liaison).count() == 3
    assert html.count(f'href="{reverse("board:request", args=[req.pk])}"') == 2
    assert f'href="{reverse("board:index")}"' in html
    assert reverse("desk:case", args=[case.pk]) not in html
    assert reverse("desk:case", args=[other.pk]) not in html


@pytest.mark.django_db
def test_an_agent_s_alerts_still_open_the_case(client, case, agent, dept_tree):
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask="核实物流轨迹")
    collab.request_answer(actor=dept_tree["logistics"].liaison, request_id=req.pk, plan="补发")
    assert Alert.objects.filter(recipient=agent).exists()
    client.force_login(agent)
    for url in (reverse("desk:alerts"), reverse("desk:home")):
        assert f'href="{reverse("desk:case", args=[case.pk])}"' in client.get(url).content.decode()


@pytest.mark.django_db
def test_alert_page_queries_do_not_grow_for_a_liaison(client, dept_tree, agent):
    liaison = dept_tree["logistics"].liaison
    client.force_login(liaison)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("desk:alerts")).status_code == 200
        return len(ctx.captured_queries)

    cases = [CaseFactory(stage=Stage.IN_PROGRESS, handler=agent) for _ in range(3)]
    collab.request_create(actor=agent, case_id=cases[0].pk, department=dept_tree["logistics"],
                          ask="一")
    Alert.objects.create(recipient=liaison, case=cases[0], kind="request_closed", message="x",
                         created_at=timezone.now())
    count()  # warm: the user's roles are cached from the first request on
    few = count()
    for c in cases[1:]:
        collab.request_create(actor=agent, case_id=c.pk, department=dept_tree["logistics"],
                              ask="二")
        Alert.objects.create(recipient=liaison, case=c, kind="request_closed", message="y",
                             created_at=timezone.now())
    assert count() == few


# --- 3: countdown units -------------------------------------------------------------------------
DESK_JS = Path(settings.BASE_DIR) / "static" / "js" / "desk.js"


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "ahead", "late"), [
    ("zh-hans", ["1天", "2小时", "5分"], "超时"),
    ("en", ["1d", "2h", "5m"], "-"),
])
def test_countdown_units_follow_the_page_language(page, lang, ahead, late):
    page.set_content(
        f'<html lang="{lang}"><body><span id="a" data-due=""></span>'
        '<span id="b" data-due=""></span></body></html>')
    page.evaluate("""() => {
        const now = Date.now(), at = (s) => new Date(now + s * 1000).toISOString();
        document.getElementById('a').dataset.due = at((26 * 60 + 5) * 60 + 30);
        document.getElementById('b').dataset.due = at(-3 * 3600);
    }""")
    page.add_script_tag(path=str(DESK_JS))
    page.evaluate("document.dispatchEvent(new Event('DOMContentLoaded'))")
    text_a, text_b = page.inner_text("#a"), page.inner_text("#b")
    assert all(part in text_a for part in ahead), text_a
    assert text_b.startswith(late) and "3" in text_b, text_b
