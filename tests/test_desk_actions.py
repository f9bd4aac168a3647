"""The case workspace and its actions: the buttons shown are exactly the permitted
transitions, each form asks for what its step needs, errors are clear and change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from cases import services
from cases.choices import CompensationStatus, NoteKind, Role, Stage, Tier
from cases.models import Alert, Case, CaseNote, Compensation
from tests.factories import CaseFactory, DepartmentFactory, UserFactory, root_cause

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """A request here may activate Chinese for the thread (preferences, the language
    switcher); later tests that call services without a request must not inherit it."""
    yield
    translation.deactivate()


def _act(client, case, action, data=None):
    url = reverse("desk:case_action", args=[case.pk, action])
    if data is None:
        return client.get(url)
    case.refresh_from_db()
    return client.post(url, {"version": case.version, **data})


def _buttons(client, case):
    response = client.get(reverse("desk:case", args=[case.pk]))
    assert response.status_code == 200
    return {a.name for a in response.context["main_actions"] + response.context["side_actions"]}


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- which buttons -----------------------------------------------------------------------------
def test_buttons_are_the_transitions_the_user_may_take_now(client, frontline, supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    buttons = _buttons(client, case)
    assert "resolve" in buttons and "record_contact" in buttons
    assert not buttons & {"retier", "transfer_ownership", "triage", "assign", "give_feedback"}
    client.force_login(supervisor)
    assert {"resolve", "retier", "transfer_ownership", "invalidate"} <= _buttons(client, case)


def test_an_agent_outside_the_case_team_sees_no_handling_step(client, frontline2, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline2)
    buttons = _buttons(client, case)
    assert "resolve" not in buttons and "record_contact" in buttons
    assert _act(client, case, "resolve").status_code == 403


def test_a_frontline_agent_cannot_retier(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    assert _act(client, case, "retier").status_code == 403
    assert _act(client, case, "retier", {"tier": 1, "reason": "x"}).status_code == 403
    case.refresh_from_db()
    assert case.tier == Tier.ROUTINE


def test_a_supervisor_retiers_with_a_reason(client, supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    client.force_login(supervisor)
    assert _act(client, case, "retier", {"tier": 2, "reason": ""}).status_code == 400
    response = _act(client, case, "retier", {"tier": 2, "reason": "客户损失较大"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.tier, case.retiered) == (Tier.IMPORTANT, True)


def test_unknown_action_and_invisible_case_are_404(client, frontline, liaison):
    case = CaseFactory()
    client.force_login(frontline)
    assert _act(client, case, "fly").status_code == 404
    assert client.get(reverse("desk:case", args=[99999])).status_code == 404
    client.force_login(liaison)
    assert client.get(reverse("desk:case", args=[case.pk])).status_code == 403


def test_a_step_not_possible_now_redirects_with_a_message(client, supervisor):
    case = CaseFactory(stage=Stage.RECEIVED)
    client.force_login(supervisor)
    response = _act(client, case, "resolve")
    assert response.status_code == 302
    assert any("not possible" in m for m in _messages(response))


# --- the main path -----------------------------------------------------------------------------
def test_triage_confirms_the_tier(client, frontline):
    case = CaseFactory()
    client.force_login(frontline)
    form = _act(client, case, "triage").context["form"]
    assert form.initial["tier"] == case.suggested_tier
    response = _act(client, case, "triage", {"urgency": "emergency", "scope": "individual",
                                             "difficulty": "frontline", "tier": 1})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.stage, case.tier, case.owner) == (Stage.TRIAGED, Tier.URGENT, frontline)


def test_assigning_tier_1_needs_department_and_task_force(client, supervisor, frontline):
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.URGENT)
    dept = DepartmentFactory(code="product")
    client.force_login(supervisor)
    response = _act(client, case, "assign", {"handler": frontline.pk})
    assert response.status_code == 400
    assert "department" in response.context["form"].errors
    response = _act(client, case, "assign", {"handler": frontline.pk, "department": dept.pk})
    assert response.status_code == 400
    assert "task_force" in response.context["form"].errors  # from the service
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED
    response = _act(client, case, "assign", {"handler": frontline.pk, "department": dept.pk,
                                             "task_force": [frontline.pk, supervisor.pk]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.ASSIGNED and case.handler == frontline


def test_tier_2_handler_choices_are_senior_agents(client, supervisor, frontline, senior):
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.IMPORTANT)
    client.force_login(supervisor)
    handlers = set(_act(client, case, "assign").context["form"].fields["handler"].queryset)
    assert senior in handlers and frontline not in handlers


def test_starting_without_a_first_response_asks_for_the_contact(client, frontline):
    case = CaseFactory(stage=Stage.ASSIGNED, handler=frontline)
    client.force_login(frontline)
    response = _act(client, case, "start", {"contact_summary": ""})
    assert response.status_code == 400 and "contact_summary" in response.context["form"].errors
    response = _act(client, case, "start", {"contact_summary": "已致电客户"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS and case.first_responded_at is not None


def test_resolving_needs_solution_and_root_cause(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    response = _act(client, case, "resolve", {"solution": "", "root_cause": ""})
    errors = response.context["form"].errors
    assert response.status_code == 400 and {"solution", "root_cause"} <= set(errors)
    response = _act(client, case, "resolve", {"solution": "补发", "root_cause": root_cause().pk,
                                              "compensation_amount": "20"})
    assert "compensation_kind" in response.context["form"].errors
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS


def test_a_text_past_the_limit_is_a_form_error_and_changes_nothing(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    page = _act(client, case, "resolve").content.decode()
    assert 'maxlength="4000"' in page  # the browser stops typing at the limit
    response = _act(client, case, "resolve", {"solution": "补" * 4001,
                                              "root_cause": root_cause().pk})
    assert response.status_code == 400 and "solution" in response.context["form"].errors
    notes = CaseNote.objects.filter(case=case).count()
    client.post(reverse("desk:case_note", args=[case.pk]),
                {"kind": NoteKind.INTERNAL, "body": "记" * 4001})
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS and not case.solution
    assert CaseNote.objects.filter(case=case).count() == notes
    assert _act(client, case, "resolve", {"solution": "补" * 4000,
                                          "root_cause": root_cause().pk}).status_code == 302


def test_compensation_above_the_threshold_waits_for_a_supervisor_before_feedback(
    client, frontline, supervisor
):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    response = _act(client, case, "resolve", {
        "solution": "更换新机", "root_cause": root_cause().pk, "compensation_kind": "refund",
        "compensation_amount": "800", "compensation_description": "部分退款"})
    assert response.status_code == 302
    compensation = Compensation.objects.get(case=case)
    assert compensation.status == CompensationStatus.PROPOSED
    feedback = {"message": "已为您更换新机并退款。", "preventive_measures": "加强出厂检测。"}
    response = _act(client, case, "give_feedback", feedback)
    assert response.status_code == 400
    assert "supervisor" in response.content.decode()
    # The frontline agent cannot approve; the supervisor does, on the desk.
    url = reverse("desk:compensation_decide", args=[case.pk, compensation.pk])
    assert client.post(url, {"decision": "approve"}).status_code == 403
    client.force_login(supervisor)
    page = client.get(reverse("desk:case", args=[case.pk]))
    assert 'data-testid="decide-compensation"' in page.content.decode()
    assert client.post(url, {"decision": "approve", "note": "同意"}).status_code == 302
    compensation.refresh_from_db()
    assert compensation.status == CompensationStatus.APPROVED
    client.force_login(frontline)
    assert _act(client, case, "give_feedback").context["approved_compensations"] == [
        compensation]
    assert _act(client, case, "give_feedback", feedback).status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.FEEDBACK_GIVEN


def test_a_bad_compensation_amount_rolls_back_the_resolution(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    response = _act(client, case, "resolve", {
        "solution": "x", "root_cause": root_cause().pk, "compensation_kind": "refund",
        "compensation_amount": "-5"})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS and not Compensation.objects.filter(case=case).exists()


def test_a_stale_form_is_refused_as_a_conflict(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    stale_version = case.version
    services.case_add_note(actor=frontline, case_id=case.pk, body="同事刚更新",
                           kind=NoteKind.INTERNAL)
    response = client.post(reverse("desk:case_action", args=[case.pk, "resolve"]), {
        "version": stale_version, "solution": "x", "root_cause": root_cause().pk})
    assert response.status_code == 302
    assert any("changed case" in m for m in _messages(response))
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS


def test_phone_revisit_closes_a_satisfied_case(client, frontline):
    case = CaseFactory(stage=Stage.FEEDBACK_GIVEN)
    client.force_login(frontline)
    assert "record_revisit" in _buttons(client, case)
    response = _act(client, case, "record_revisit", {"score": 5, "comment": "满意"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED
    assert case.revisits.get().method == "phone"


def test_dissatisfied_revisit_then_follow_up(client, supervisor):
    case = CaseFactory(stage=Stage.REVISIT)
    client.force_login(supervisor)
    _act(client, case, "record_revisit", {"score": 2, "comment": "仍不满意"})
    case.refresh_from_db()
    assert case.stage == Stage.FOLLOW_UP
    assert _act(client, case, "complete_follow_up", {"message": "追加补偿"}).status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED


def test_reopen_and_invalidate_need_a_reason(client, supervisor):
    closed = CaseFactory(stage=Stage.CLOSED)
    fresh = CaseFactory()
    client.force_login(supervisor)
    assert _act(client, closed, "reopen", {"reason": ""}).status_code == 400
    assert _act(client, closed, "reopen", {"reason": "客户再次投诉"}).status_code == 302
    assert _act(client, fresh, "invalidate", {"reason": "客户撤回"}).status_code == 302
    closed.refresh_from_db()
    fresh.refresh_from_db()
    assert (closed.stage, fresh.stage) == (Stage.IN_PROGRESS, Stage.INVALID)


def test_only_a_supervisor_transfers_ownership(client, frontline, frontline2, supervisor):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    client.force_login(frontline)
    assert _act(client, case, "transfer_ownership").status_code == 403
    client.force_login(supervisor)
    response = _act(client, case, "transfer_ownership",
                    {"new_owner": frontline2.pk, "reason": "休假交接"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == frontline2


def test_record_contact_and_propose_compensation(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    assert _act(client, case, "record_contact", {"summary": "电话沟通进展"}).status_code == 302
    response = _act(client, case, "propose_compensation",
                    {"kind": "coupon", "amount": "50", "description": "优惠券"})
    assert response.status_code == 302
    assert Compensation.objects.get(case=case).status == CompensationStatus.APPROVED


# --- notes -------------------------------------------------------------------------------------
def test_progress_update_and_internal_note(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    url = reverse("desk:case_note", args=[case.pk])
    assert client.post(url, {"kind": "progress", "body": "已联系物流"}).status_code == 302
    assert client.post(url, {"kind": "internal", "body": "客户情绪激动"}).status_code == 302
    assert client.post(url, {"kind": "internal", "body": "  "}).status_code == 400
    kinds = set(CaseNote.objects.filter(case=case, author=frontline).values_list("kind",
                                                                                 flat=True))
    assert {NoteKind.PROGRESS, NoteKind.INTERNAL} <= kinds
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "已联系物流" in page and "客户情绪激动" in page


def test_the_timeline_shows_every_kind_of_event_in_order(client, supervisor):
    case = CaseFactory(stage=Stage.FEEDBACK_GIVEN, compensation=Decimal("30"))
    CaseNote.objects.create(case=case, kind=NoteKind.CUSTOMER_MESSAGE, body="客户来信追问",
                            created_at=case.received_at)
    client.force_login(supervisor)
    response = client.get(reverse("desk:case", args=[case.pk]))
    timeline = response.context["ws"].timeline
    kinds = {e.kind for e in timeline}
    assert {"transition", "note", "notice", "compensation"} <= kinds
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert "客户来信追问" in response.content.decode()


# --- bulk --------------------------------------------------------------------------------------
def test_supervisor_bulk_assigns_and_reports_refusals(client, supervisor, frontline):
    ready = [CaseFactory(stage=Stage.TRIAGED) for _ in range(2)]
    not_ready = CaseFactory()  # received: cannot be assigned yet
    client.force_login(supervisor)
    response = client.post(reverse("desk:bulk"), {
        "action": "assign", "agent": frontline.pk,
        "cases": [c.pk for c in ready] + [not_ready.pk], "next": "/desk/cases/?queue=team"})
    # The result page lists what was done and what was refused, with a way back to the list.
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/desk/cases/?queue=team"' in page
    assert set(Case.objects.filter(handler=frontline).values_list("pk", flat=True)) == {
        c.pk for c in ready}
    refused = page.split('data-testid="bulk-refused"', 1)[1]
    assert not_ready.reference in refused


def test_supervisor_bulk_transfers_ownership(client, supervisor, frontline, frontline2):
    cases = [CaseFactory(actor=frontline, channel_kind="hotline") for _ in range(2)]
    client.force_login(supervisor)
    response = client.post(reverse("desk:bulk"), {
        "action": "transfer", "agent": frontline2.pk, "cases": [c.pk for c in cases],
        "reason": ""})
    assert response.status_code == 302
    assert not Case.objects.filter(owner=frontline2).exists()  # reason required
    client.post(reverse("desk:bulk"), {"action": "transfer", "agent": frontline2.pk,
                                       "cases": [c.pk for c in cases], "reason": "调岗"})
    assert Case.objects.filter(owner=frontline2).count() == 2


def test_bulk_assign_and_transfer_are_for_supervisors_only(client, frontline, frontline2):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    response = client.post(reverse("desk:bulk"), {"action": "assign", "agent": frontline2.pk,
                                                  "cases": [case.pk]})
    assert response.status_code == 403
    listing = client.get(reverse("desk:cases")).content.decode()
    assert 'value="assign_me"' in listing and 'value="transfer"' not in listing


# --- alerts and preferences --------------------------------------------------------------------
def test_alerts_list_and_mark_read_only_my_own(client, frontline, frontline2):
    case = CaseFactory()
    from django.utils import timezone

    mine = Alert.objects.create(recipient=frontline, case=case, kind="breached",
                                message="首次响应已超时", created_at=timezone.now())
    theirs = Alert.objects.create(recipient=frontline2, case=case, kind="breached",
                                  message="别人的提醒", created_at=timezone.now())
    client.force_login(frontline)
    page = client.get(reverse("desk:alerts")).content.decode()
    assert "首次响应已超时" in page and "别人的提醒" not in page
    client.post(reverse("desk:alerts"), {"alert": theirs.pk})
    client.post(reverse("desk:alerts"), {"alert": mine.pk})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert "首次响应已超时" not in client.get(reverse("desk:alerts")).content.decode()
    assert client.post(reverse("desk:alerts"), {"alert": "abc"}).status_code == 302


def test_mark_all_alerts_read(client, frontline):
    from django.utils import timezone

    for i in range(3):
        Alert.objects.create(recipient=frontline, kind="at_risk", message=f"a{i}",
                             created_at=timezone.now())
    client.force_login(frontline)
    response = client.post(reverse("desk:alerts"), {"next": reverse("desk:home")})
    assert response.status_code == 302 and response.url == reverse("desk:home")
    assert "3 alert(s) marked read." in _messages(response)
    assert not Alert.objects.filter(recipient=frontline, read_at__isnull=True).exists()


def test_preferences_set_language_and_time_zone(client, frontline):
    client.force_login(frontline)
    response = client.post(reverse("desk:preferences"), {
        "display_name": "小王", "language": "zh-hans", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    frontline.refresh_from_db()
    assert (frontline.language, frontline.time_zone) == ("zh-hans", "Asia/Tokyo")
    page = client.get(reverse("desk:home")).content.decode()
    assert "我的" in page  # the desk now speaks Chinese
    assert client.post(reverse("desk:preferences"), {
        "language": "zh-hans", "time_zone": "Mars/Base"}).status_code == 400


def test_senior_and_liaison_roles(client):
    senior = UserFactory(username="senior-x", role=Role.SENIOR)
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.IMPORTANT)
    client.force_login(senior)
    assert client.get(reverse("desk:case", args=[case.pk])).status_code == 200


def test_dates_are_shown_in_the_users_time_zone(client, frontline):
    from datetime import UTC, datetime

    case = CaseFactory()
    Case.objects.filter(pk=case.pk).update(received_at=datetime(2026, 3, 1, 15, 30, tzinfo=UTC))
    frontline.time_zone = "Asia/Tokyo"
    frontline.save()
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "2026-03-02 00:30" in page  # 15:30 UTC is 00:30 the next day in Tokyo
    frontline.time_zone = "Europe/London"
    frontline.save()
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "2026-03-01 15:30" in page


def test_the_language_switcher_changes_the_desk_language(client, frontline):
    frontline.language = ""
    frontline.save()
    client.force_login(frontline)
    assert "My cases" in client.get(reverse("desk:home")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/desk/"})
    assert "我的投诉" in client.get(reverse("desk:home")).content.decode()
