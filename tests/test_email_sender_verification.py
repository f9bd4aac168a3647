"""Only the customer speaks as the customer: an e-mail quoting a case reference joins the case
as the customer's message only from the customer's address or through the case's reply
address; anything else is an unverified message for staff, never shown on /track/."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from cases.choices import NoteKind, Stage
from cases.models import Alert, Case
from channels.email_intake import ingest_email
from channels.reply_address import case_id_from_addresses, reply_address_for
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
CUSTOMER = "Zhang.Wei@Example.com"


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.fixture
def case(frontline):
    return CaseFactory(stage=Stage.IN_PROGRESS, actor=frontline, email=CUSTOMER)


def mail(case: Case, *, sender: str, to: str = "complaints@shop.example.cn",
         body: str = "我同意关闭投诉，退款不用了。", reply_to: str = "", n: int = 1) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = f"Re: [{case.reference}] 订单问题"
    message["Message-ID"] = f"<verify.{n}@mail.example.com>"
    message.set_content(body)
    return message.as_bytes()


def track(client, case: Case) -> str:
    response = client.post("/track/", {"reference": case.reference, "code": case.tracking_code})
    assert response.status_code == 200
    return response.content.decode()


def test_a_spoofed_sender_is_not_the_customer_s_message_and_the_owner_is_warned(
        client, case, frontline):
    raw = mail(case, sender="Attacker <mallory@evil.example>", reply_to=CUSTOMER)

    assert ingest_email(raw).outcome == "unverified"

    note = case.notes.get(kind=NoteKind.UNVERIFIED_MESSAGE)
    assert not note.visible_to_customer and note.sender == "Attacker <mallory@evil.example>"
    assert not case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE).exists()
    alert = Alert.objects.get(recipient=frontline, case=case, kind="unverified_message")
    assert "mallory@evil.example" in alert.message
    assert not Alert.objects.filter(kind="customer_message").exists()
    assert "退款不用了" not in track(client, case)


def test_the_workspace_shows_the_unverified_message_with_its_sender(client, case, frontline):
    ingest_email(mail(case, sender="mallory@evil.example"))
    client.force_login(frontline)

    html = client.get(f"/desk/cases/{case.pk}/").content.decode()

    assert 'data-testid="unverified-message"' in html and "mallory@evil.example" in html
    assert "退款不用了" in html


def test_the_customer_s_own_address_in_any_case_joins_as_before(client, case, frontline):
    assert ingest_email(mail(case, sender="张伟 <ZHANG.wei@example.COM>")).outcome == "joined"

    note = case.notes.get(kind=NoteKind.CUSTOMER_MESSAGE)
    assert note.visible_to_customer and not note.sender
    assert Alert.objects.filter(recipient=frontline, case=case, kind="customer_message").exists()
    assert "退款不用了" in track(client, case)


def test_the_case_reply_address_is_accepted_from_another_address(client, case):
    raw = mail(case, sender="wife.of.zhang@example.org", to=reply_address_for(case.pk))

    assert ingest_email(raw).outcome == "joined"

    assert case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE, visible_to_customer=True).exists()
    assert "退款不用了" in track(client, case)


def test_the_reply_address_finds_its_case_without_a_reference_in_the_subject(case):
    message = EmailMessage()
    message["From"], message["To"] = "other@example.org", reply_address_for(case.pk).upper()
    message["Subject"], message["Message-ID"] = "照片", "<noref.1@example.org>"
    message.set_content("补充照片说明。")

    outcome = ingest_email(message.as_bytes())

    assert outcome.outcome == "joined" and outcome.case.pk == case.pk


@pytest.mark.parametrize("forge", [
    lambda real: real.replace(real.split("-")[-1][:4], "0000", 1),  # a wrong signature
    lambda real: real.replace("+c", "+c9", 1),                      # another case's id
    lambda real: real.split("-")[0] + "@shop.example.cn",           # no signature at all
])
def test_a_forged_reply_address_is_unverified(client, case, forge):
    to = forge(reply_address_for(case.pk))
    assert to != reply_address_for(case.pk)

    assert ingest_email(mail(case, sender="mallory@evil.example", to=to)).outcome == "unverified"

    assert not case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE).exists()
    assert "退款不用了" not in track(client, case)


def test_a_reply_address_signed_under_another_secret_key_does_not_verify(case, settings):
    address = reply_address_for(case.pk)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert case_id_from_addresses([address]) is None
    assert case_id_from_addresses([reply_address_for(case.pk)]) == case.pk


def test_an_unverified_message_is_processed_once(case):
    raw = mail(case, sender="mallory@evil.example")
    ingest_email(raw)
    assert ingest_email(raw).outcome == "duplicate"
    assert case.notes.filter(kind=NoteKind.UNVERIFIED_MESSAGE).count() == 1
