"""The final-response letter 答复函 (issue 15, item 6): the template's required parts, the check
before sending, sending once through the outbox as the case's feedback, kept as sent,
printable, and who may reach each page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from cases.choices import CompensationKind, Role, Stage
from cases.models import (
    CaseRegime,
    Customer,
    DeskSettings,
    FinalLetter,
    LetterMode,
    LetterTemplate,
    Notice,
    Regime,
)
from cases.models.notices import NoticeKind, NoticeStatus
from cases.services import compensation_propose
from tests.factories import CaseFactory, UserFactory

PARTS = {"facts": "快递于12月1日签收，外包装破损，商品屏幕碎裂。",
         "decision": "为您更换新机并承担往返运费。",
         "reasons": "商品在运输途中损坏，属承运责任，由我方先行赔付。",
         "measures": "已要求承运商对易碎品加固包装。"}


@pytest.fixture
def handler(db):
    return UserFactory(username="letter-handler", role=Role.FRONTLINE)


@pytest.fixture
def resolved(handler):
    return CaseFactory(stage=Stage.RESOLVED, handler=handler)


def letter_url(case) -> str:
    return reverse("desk:case_letter", args=[case.pk])


def send(client, case, **parts):
    return client.post(letter_url(case), {**PARTS, **parts, "intent": "send",
                                          "version": str(case.version)})


def set_mode(mode: str) -> None:
    settings = DeskSettings.get()
    settings.letter_mode = mode
    settings.save()


# --- the admin template -----------------------------------------------------------------------
def template_form(**kw) -> dict:
    t = LetterTemplate.objects.get()
    data = {f: getattr(t, f) for f in ("name", "subject", "subject_en", "body", "body_en",
                                        "escalation", "escalation_en", "contact",
                                        "contact_en")}
    return {**data, "is_active": "on", **kw}


@pytest.mark.parametrize("field", ["body", "body_en"])
def test_admin_names_a_missing_required_part_in_either_language(client, admin_user, field):
    client.force_login(admin_user)
    t = LetterTemplate.objects.get()
    text = getattr(t, field).replace("{escalation}", "")
    response = client.post(reverse("admin:cases_lettertemplate_change", args=[t.pk]),
                           template_form(**{field: text}))
    assert response.status_code == 200
    assert "{escalation}" in str(response.context["adminform"].form.errors[field])
    t.refresh_from_db()
    assert "{escalation}" in getattr(t, field) and t.version == 1


def test_admin_names_an_unknown_placeholder(client, admin_user):
    client.force_login(admin_user)
    t = LetterTemplate.objects.get()
    response = client.post(reverse("admin:cases_lettertemplate_change", args=[t.pk]),
                           template_form(body_en=t.body_en + "\n{compensaton}"))
    assert "{compensaton}" in str(response.context["adminform"].form.errors["body_en"])


def test_an_admin_edit_is_a_new_version(client, admin_user):
    client.force_login(admin_user)
    t = LetterTemplate.objects.get()
    response = client.post(reverse("admin:cases_lettertemplate_change", args=[t.pk]),
                           template_form(contact="客服热线 400-000-0000"))
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.version == 2


# --- composing and checking -------------------------------------------------------------------
def test_the_form_is_prefilled_from_the_case_and_previewed(client, handler, resolved):
    compensation_propose(actor=handler, case_id=resolved.pk, kind=CompensationKind.COUPON,
                         amount=Decimal("50"), description="")
    client.force_login(handler)
    response = client.get(letter_url(resolved))
    assert response.status_code == 200
    assert response.context["form"].initial["decision"] == resolved.solution
    text = response.context["draft"].text
    assert resolved.reference in text and "50.00" in text and "12315" in text
    assert "400-800-1234" in text  # the desk's contact from the template


def test_preview_shows_the_letter_and_sends_nothing(client, handler, resolved):
    client.force_login(handler)
    response = client.post(letter_url(resolved), {**PARTS, "intent": "preview"})
    assert response.status_code == 200
    assert PARTS["reasons"] in response.context["draft"].text
    assert response.context["draft"].problems == []
    resolved.refresh_from_db()
    assert resolved.stage == Stage.RESOLVED and not FinalLetter.objects.exists()


@pytest.mark.parametrize("part, named", [("facts", "facts as established"),
                                         ("decision", "decision"),
                                         ("reasons", "reasons for the decision")])
def test_a_letter_missing_a_part_cannot_be_sent_and_the_part_is_named(
        client, handler, resolved, part, named):
    client.force_login(handler)
    handler.language = "en"
    handler.save(update_fields=["language"])
    response = send(client, resolved, **{part: "  "})
    assert response.status_code == 400
    assert named in str(response.context["form"].errors[part])
    resolved.refresh_from_db()
    assert resolved.stage == Stage.RESOLVED
    assert not FinalLetter.objects.exists()
    assert not Notice.objects.filter(case=resolved, kind=NoticeKind.LETTER).exists()


def test_a_template_without_the_desk_contact_cannot_send(client, handler, resolved):
    LetterTemplate.objects.update(contact="", contact_en="")
    client.force_login(handler)
    response = send(client, resolved)
    assert response.status_code == 400
    assert "desk's contact" in response.content.decode()
    assert not FinalLetter.objects.exists()


# --- sending ----------------------------------------------------------------------------------
def test_sending_gives_the_feedback_once_through_the_outbox(
        client, handler, resolved, django_capture_on_commit_callbacks):
    client.force_login(handler)
    # When the agent sends the letter
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, resolved)
    assert response.status_code == 302
    # Then it is the case's feedback, stored as sent, and mailed once
    resolved.refresh_from_db()
    assert resolved.stage == Stage.FEEDBACK_GIVEN
    letter = FinalLetter.objects.get(case=resolved)
    assert resolved.feedback_message == letter.text
    assert resolved.preventive_measures == PARTS["measures"]
    assert letter.sent_by == handler and letter.template_version == 1 and letter.round == 1
    for value in PARTS.values():
        assert value in letter.text
    notice = Notice.objects.get(case=resolved, kind=NoticeKind.LETTER)
    assert letter.notice == notice and notice.status == NoticeStatus.SENT
    assert not Notice.objects.filter(case=resolved, kind=NoticeKind.FEEDBACK).exists()
    sent = [m for m in mail.outbox if m.to == [resolved.customer.email]
            and resolved.reference in m.subject and PARTS["decision"] in m.body]
    assert len(sent) == 1 and sent[0].body.strip() == letter.text.strip()
    # A second send is refused: the feedback was given
    again = send(client, resolved)
    assert again.status_code in (302, 400)
    assert FinalLetter.objects.filter(case=resolved).count() == 1
    assert Notice.objects.filter(case=resolved, kind=NoticeKind.LETTER).count() == 1


def test_the_letter_stays_as_sent_after_the_template_changes(client, handler, resolved):
    client.force_login(handler)
    send(client, resolved)
    letter = FinalLetter.objects.get(case=resolved)
    LetterTemplate.objects.update(body="{facts}{decision}{reasons}{compensation}{escalation}"
                                       "{contact} CHANGED", version=7)
    response = client.get(reverse("desk:case_letter_print", args=[resolved.pk, letter.pk]))
    assert response.status_code == 200
    assert "CHANGED" not in response.content.decode()
    assert PARTS["facts"] in response.content.decode()
    letter.refresh_from_db()
    assert letter.template_version == 1


def test_the_workspace_lists_the_sent_letter(client, handler, resolved):
    client.force_login(handler)
    send(client, resolved)
    letter = FinalLetter.objects.get(case=resolved)
    html = client.get(reverse("desk:case", args=[resolved.pk])).content.decode()
    assert reverse("desk:case_letter_print", args=[resolved.pk, letter.pk]) in html
    assert 'data-testid="letters"' in html


def test_an_english_customer_gets_the_english_letter(client, handler, resolved):
    Customer.objects.filter(pk=resolved.customer_id).update(language="en")
    client.force_login(handler)
    assert send(client, resolved).status_code == 302
    letter = FinalLetter.objects.get(case=resolved)
    assert letter.language == "en" and "The facts as established" in letter.text
    assert "national 12315 hotline" in letter.text


def test_a_regime_gives_its_own_way_to_escalate(client, handler, resolved):
    regime = Regime.objects.create(
        code="bank-test", name="银行业投诉", name_en="Bank complaints", source="办法第1条",
        first_limit_days=15, max_total_days=30,
        escalation="可向国家金融监督管理总局投诉（热线12378），或申请金融纠纷调解。",
        escalation_en="Complain to the NFRA (12378).")
    CaseRegime.objects.create(case=resolved, regime=regime)
    client.force_login(handler)
    send(client, resolved)
    text = FinalLetter.objects.get(case=resolved).text
    assert "12378" in text and "全国12315" not in text


def test_a_pending_compensation_blocks_the_letter(client, handler, resolved):
    compensation_propose(actor=handler, case_id=resolved.pk, kind=CompensationKind.CASH,
                         amount=Decimal("9000"))
    resolved.refresh_from_db()
    client.force_login(handler)
    response = send(client, resolved)
    assert response.status_code == 400
    assert "supervisor" in response.content.decode()
    assert not FinalLetter.objects.exists()


# --- desk setting -----------------------------------------------------------------------------
def test_letters_off_keeps_the_plain_feedback(client, handler, resolved):
    set_mode(LetterMode.OFF)
    client.force_login(handler)
    assert client.get(letter_url(resolved)).status_code == 404
    html = client.get(reverse("desk:case", args=[resolved.pk])).content.decode()
    assert 'data-action="letter"' not in html and 'data-action="give_feedback"' in html
    response = client.post(reverse("desk:case_action", args=[resolved.pk, "give_feedback"]),
                           {"message": "已处理", "preventive_measures": "加固包装"})
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.stage == Stage.FEEDBACK_GIVEN


def test_letters_required_refuses_the_plain_feedback(client, handler, resolved):
    set_mode(LetterMode.REQUIRED)
    client.force_login(handler)
    html = client.get(reverse("desk:case", args=[resolved.pk])).content.decode()
    assert 'data-action="letter"' in html and 'data-action="give_feedback"' not in html
    response = client.post(reverse("desk:case_action", args=[resolved.pk, "give_feedback"]),
                           {"message": "已处理", "preventive_measures": "加固包装"})
    assert response.status_code == 400
    resolved.refresh_from_db()
    assert resolved.stage == Stage.RESOLVED
    assert send(client, resolved).status_code == 302


# --- who may reach the pages ------------------------------------------------------------------
def test_compose_and_print_are_for_the_right_people_only(client, handler, resolved, frontline):
    liaison = UserFactory(username="other-liaison", role=Role.LIAISON)
    client.force_login(handler)
    send(client, resolved)
    letter = FinalLetter.objects.get(case=resolved)
    other = CaseFactory(stage=Stage.RESOLVED, handler=handler)
    compose, printable = letter_url(other), reverse("desk:case_letter_print",
                                                    args=[resolved.pk, letter.pk])
    client.logout()
    for url in (compose, printable):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert client.post(url, {**PARTS, "intent": "send"}).status_code in (302, 405)
    client.force_login(liaison)
    for url in (compose, printable):
        assert client.get(url).status_code == 404
    assert client.post(compose, {**PARTS, "intent": "send"}).status_code == 404
    # An agent who is not on the case's team may not send its letter, but reads it
    client.force_login(frontline)
    assert client.get(compose).status_code == 404
    assert client.post(compose, {**PARTS, "intent": "send"}).status_code == 404
    assert client.get(printable).status_code == 200
    # A letter id of another case is not found under this case
    wrong = reverse("desk:case_letter_print", args=[other.pk, letter.pk])
    assert client.get(wrong).status_code == 404
    other.refresh_from_db()
    assert other.stage == Stage.RESOLVED


def test_print_page_is_made_for_printing(client, handler, resolved):
    client.force_login(handler)
    send(client, resolved)
    letter = FinalLetter.objects.get(case=resolved)
    response = client.get(reverse("desk:case_letter_print", args=[resolved.pk, letter.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "letter-print" in html and 'data-action="print"' in html
    assert letter.subject in html


def test_an_sms_customer_is_sent_the_link_and_reads_the_letter_on_track(
        client, handler, resolved, sms_folder, django_capture_on_commit_callbacks):
    # Given a customer who prefers SMS
    Customer.objects.filter(pk=resolved.customer_id).update(preferred_channel="sms")
    client.force_login(handler)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, resolved).status_code == 302
    # Then the SMS links to the progress page instead of carrying two pages of text
    notice = Notice.objects.get(case=resolved, kind=NoticeKind.LETTER)
    assert notice.channel == "sms" and "/track/" in notice.body
    assert PARTS["facts"] not in notice.body
    # And the progress page shows the whole letter
    client.logout()
    page = client.post(reverse("channels:track"), {"reference": resolved.reference,
                                                    "code": resolved.tracking_code})
    assert PARTS["facts"] in page.content.decode()


def test_letter_pages_read_a_fixed_number_of_queries(client, handler, resolved,
                                                     django_assert_max_num_queries):
    for amount in ("10", "20", "30"):
        compensation_propose(actor=handler, case_id=resolved.pk, kind=CompensationKind.COUPON,
                             amount=Decimal(amount))
    resolved.refresh_from_db()
    client.force_login(handler)
    with django_assert_max_num_queries(16):
        assert client.get(letter_url(resolved)).status_code == 200
    send(client, resolved)
    letter = FinalLetter.objects.get(case=resolved)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("desk:case_letter_print",
                                  args=[resolved.pk, letter.pk])).status_code == 200
