"""Canned replies (issue 15, item 2): admin validation, filling for a case in the customer's
language, and the macro's action recorded with the reply in one transaction."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from cases.choices import Category, ContactChannel, NoteKind, Role, Stage
from cases.models import CaseNote, CasePause, Customer, Macro, MacroAction, Notice, PauseReason
from cases.models.notices import NoticeKind
from cases.services.intake import track_url
from cases.services.pauses import case_pause
from tests.factories import CaseFactory, UserFactory

TEXT = "{customer_name}您好，{agent_name}为您处理 {reference}，{due_date} 前答复：{tracking_link}"
TEXT_EN = "Dear {customer_name}, {agent_name} handles {reference}; answer by {due_date}: " \
          "{tracking_link}"


def macro(**kw) -> Macro:
    data = {"title": "告知时限", "title_en": "Give the date", "body": TEXT, "body_en": TEXT_EN}
    return Macro.objects.create(**{**data, **kw})


def materials_reason() -> PauseReason:
    return PauseReason.objects.get(code="customer_materials")


def admin_form(**kw) -> dict:
    data = {"title": "测试", "title_en": "Test", "body": "您好 {customer_name}",
            "body_en": "Hello {customer_name}", "action": "", "pause_reason": "",
            "is_active": "on", "order": "0"}
    return {**data, **kw}


# --- admin ------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["body", "body_en"])
def test_admin_names_an_unknown_placeholder_in_either_language(client, admin_user, field):
    # Given the admin
    client.force_login(admin_user)
    # When a macro's text has a misspelled placeholder
    response = client.post(reverse("admin:cases_macro_add"),
                           admin_form(**{field: "您好 {custmer_name}，编号 {reference}"}))
    # Then the form is shown again naming it, and nothing is saved
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "{custmer_name}" in str(errors[field])
    assert not Macro.objects.filter(title="测试").exists()


def test_admin_refuses_unbalanced_braces(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:cases_macro_add"), admin_form(body="您好 {reference"))
    assert response.status_code == 200
    assert "body" in response.context["adminform"].form.errors
    assert not Macro.objects.filter(title="测试").exists()


def test_admin_request_materials_needs_a_reason_waiting_on_the_customer(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:cases_macro_add")
    missing = client.post(url, admin_form(action=MacroAction.REQUEST_MATERIALS))
    assert "pause_reason" in missing.context["adminform"].form.errors
    testing = PauseReason.objects.get(code="third_party_testing")
    wrong = client.post(url, admin_form(action=MacroAction.REQUEST_MATERIALS,
                                        pause_reason=str(testing.pk)))
    assert "pause_reason" in wrong.context["adminform"].form.errors
    assert not Macro.objects.filter(title="测试").exists()
    ok = client.post(url, admin_form(action=MacroAction.REQUEST_MATERIALS,
                                     pause_reason=str(materials_reason().pk),
                                     stages=[Stage.IN_PROGRESS], categories=[Category.DELIVERY]))
    assert ok.status_code == 302
    saved = Macro.objects.get(title="测试")
    assert saved.stages == [Stage.IN_PROGRESS] and saved.categories == [Category.DELIVERY]


def test_seeded_macros_are_valid_in_both_languages(db):
    from cases.services.macros import macro_problems

    seeded = list(Macro.objects.all())
    assert len(seeded) >= 4
    assert {m.action for m in seeded} >= {MacroAction.REQUEST_MATERIALS, MacroAction.PROGRESS}
    for m in seeded:
        assert macro_problems(m.body, m.body_en) == [], m.title


# --- insertion --------------------------------------------------------------------------------
def _listed(client, case) -> dict[int, dict]:
    response = client.get(reverse("desk:case_macros", args=[case.pk]))
    assert response.status_code == 200
    return {m["macro_id"]: m for m in response.json()["macros"]}


def _due_in(case, language: str) -> str:
    with translation.override(language):
        return date_format(timezone.localtime(case.solution_due_at), "DATE_FORMAT")


def test_inserted_text_is_filled_for_the_case_in_chinese(client, frontline):
    # Given a case of a Chinese-speaking customer with a running solution clock
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    m = macro()
    client.force_login(frontline)
    # When the agent opens the picker
    filled = _listed(client, case)[m.pk]
    # Then the Chinese text is filled with the case's values
    due = _due_in(case, "zh-hans")
    assert filled["language"] == "zh-hans"
    assert filled["text"] == (f"{case.customer.name}您好，{frontline}为您处理 {case.reference}，"
                              f"{due} 前答复：{track_url(case)}")
    assert "年" in due and filled["warnings"] == []


def test_inserted_text_follows_the_customers_language(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    Customer.objects.filter(pk=case.customer_id).update(language="en")
    m = macro()
    client.force_login(frontline)
    filled = _listed(client, case)[m.pk]
    due = _due_in(case, "en")
    assert filled["language"] == "en"
    assert filled["text"].startswith(f"Dear {case.customer.name}, {frontline} handles")
    assert f"answer by {due}:" in filled["text"] and "年" not in filled["text"]


def test_a_missing_value_is_named_not_hidden(client, frontline):
    # A closed case has no running clock: {due_date} stays empty and the picker says so.
    case = CaseFactory(stage=Stage.CLOSED)
    m = macro()
    client.force_login(frontline)
    filled = _listed(client, case)[m.pk]
    assert "{due_date}" in filled["warnings"][0]


def test_the_picker_lists_only_macros_for_the_case(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, category=Category.DELIVERY)
    everywhere = macro()
    delivery = macro(categories=[Category.DELIVERY], stages=[Stage.IN_PROGRESS])
    billing = macro(categories=[Category.BILLING])
    later = macro(stages=[Stage.RESOLVED])
    inactive = macro(is_active=False)
    client.force_login(frontline)
    listed = _listed(client, case)
    assert {everywhere.pk, delivery.pk} <= set(listed)
    assert not {billing.pk, later.pk, inactive.pk} & set(listed)


def test_the_workspace_has_the_picker_and_the_preview(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    client.force_login(frontline)
    html = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'data-testid="macro-picker"' in html and 'name="macro"' in html
    assert 'data-testid="reply-preview"' in html
    assert reverse("desk:case_macros", args=[case.pk]) in html


# --- sending with the action ------------------------------------------------------------------
def _reply(client, case, m, body="请补充订单截图。", **extra):
    return client.post(reverse("desk:case_reply", args=[case.pk]), {
        "body": body, "channel": ContactChannel.EMAIL, "macro": str(m.pk),
        "version": str(case.version), **extra})


def test_request_materials_pauses_the_case_with_the_reply(client, frontline):
    # Given a handler and a "request materials" macro
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    m = macro(action=MacroAction.REQUEST_MATERIALS, pause_reason=materials_reason())
    client.force_login(frontline)
    # When the reply written from it is sent (edited by the agent)
    response = _reply(client, case, m, body="请补充订单截图和商品照片。谢谢！")
    # Then the reply and the pause are both recorded, with their notices
    assert response.status_code == 302
    reply = CaseNote.objects.get(case=case, kind=NoteKind.REPLY)
    assert reply.body == "请补充订单截图和商品照片。谢谢！"
    pause = CasePause.objects.get(case=case)
    assert pause.reason.code == "customer_materials" and pause.ended_at is None
    assert pause.started_by == frontline and pause.note == reply.body
    case.refresh_from_db()
    assert case.paused_since is not None
    kinds = set(Notice.objects.filter(case=case).values_list("kind", flat=True))
    assert {NoticeKind.REPLY, NoticeKind.PAUSE} <= kinds


def test_a_refused_action_sends_nothing(client, frontline):
    # Given an agent who may reply but not pause this case (neither owner nor handler)
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    m = macro(action=MacroAction.REQUEST_MATERIALS, pause_reason=materials_reason())
    notices = Notice.objects.filter(case=case).count()
    client.force_login(frontline)
    # When they send a reply from the macro
    response = _reply(client, case, m)
    # Then it is refused with the reason, and neither the reply nor a pause exists
    assert response.status_code == 400
    text = response.content.decode()
    assert "告知时限" in text or "Give the date" in text
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()
    assert not CasePause.objects.filter(case=case).exists()
    assert Notice.objects.filter(case=case).count() == notices


def test_an_already_paused_case_refuses_the_pause_and_the_reply(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    m = macro(action=MacroAction.REQUEST_MATERIALS, pause_reason=materials_reason())
    client.force_login(frontline)
    assert _reply(client, case, m).status_code == 302
    case.refresh_from_db()
    second = _reply(client, case, m, body="再次请补充。")
    assert second.status_code == 400
    assert CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).count() == 1
    assert CasePause.objects.filter(case=case).count() == 1


def test_materials_received_resumes_the_case(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    case_pause(actor=frontline, case_id=case.pk, reason="customer_materials", note="等材料")
    case.refresh_from_db()
    m = macro(action=MacroAction.MATERIALS_RECEIVED)
    client.force_login(frontline)
    assert _reply(client, case, m, body="材料已收到。").status_code == 302
    case.refresh_from_db()
    assert case.paused_since is None
    assert CasePause.objects.get(case=case).ended_by == frontline


def test_progress_macro_restarts_the_progress_clock(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    before = case.progress_due_at
    m = macro(action=MacroAction.PROGRESS)
    client.force_login(frontline)
    assert _reply(client, case, m, body="正在核实。").status_code == 302
    case.refresh_from_db()
    assert case.last_progress_at is not None and case.progress_due_at >= before
    assert CaseNote.objects.filter(case=case, kind=NoteKind.PROGRESS).count() == 1


@pytest.mark.parametrize("which", ["inactive", "other_category", "not_a_number"])
def test_a_macro_that_does_not_apply_is_a_clear_error(client, frontline, which):
    case = CaseFactory(stage=Stage.IN_PROGRESS, category=Category.DELIVERY)
    m = macro(is_active=which != "inactive",
              categories=[Category.BILLING] if which == "other_category" else [])
    client.force_login(frontline)
    data = {"body": "您好", "channel": ContactChannel.EMAIL,
            "macro": "abc" if which == "not_a_number" else str(m.pk)}
    response = client.post(reverse("desk:case_reply", args=[case.pk]), data)
    assert response.status_code == 400
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()


def test_a_reply_without_a_macro_still_sends(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    client.force_login(frontline)
    response = client.post(reverse("desk:case_reply", args=[case.pk]),
                           {"body": "您好", "channel": ContactChannel.EMAIL, "macro": ""})
    assert response.status_code == 302
    assert CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).count() == 1


# --- who may see the filled macros ------------------------------------------------------------
def test_macro_list_is_for_agents_only(client, liaison):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    macro()
    url = reverse("desk:case_macros", args=[case.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(liaison)
    assert client.get(url).status_code == 404
    nobody = UserFactory(username="no-role")
    client.force_login(nobody)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(username="agent-x", role=Role.FRONTLINE))
    assert client.get(reverse("desk:case_macros", args=[999999])).status_code == 404


def test_macro_list_reads_a_fixed_number_of_queries(client, frontline,
                                                   django_assert_max_num_queries):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    for _i in range(20):
        macro()
    client.force_login(frontline)
    with django_assert_max_num_queries(12):
        assert len(_listed(client, case)) >= 20


def test_an_admin_edit_of_a_macro_is_in_the_audit_trail(client, admin_user):
    from cases.models import AuditEntry

    client.force_login(admin_user)
    m = macro()
    data = admin_form(title=m.title, body="您好 {customer_name}，已收到。")
    assert client.post(reverse("admin:cases_macro_change", args=[m.pk]), data).status_code == 302
    entry = AuditEntry.objects.filter(target_type="cases.Macro", target_id=str(m.pk)).last()
    assert entry is not None and "body" in entry.changes
