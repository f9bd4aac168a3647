"""E-mail intake through its real surfaces: `manage.py ingest_email` on the mixed-encoding
fixtures, and the periodic task against a real (in-thread) IMAP server, with replays."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.choices import NoteKind, Stage
from cases.models import Alert, Case, CaseAttachment, CaseDeadline, CaseNote, Customer
from channels.email_intake import ingest_email
from channels.models import InboundMessage
from channels.tasks import poll_mailbox_task
from tests.factories import CaseFactory
from tests.fake_imap import SEEN, FakeImapServer

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures" / "emails"


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def eml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ingest(*names: str, capsys=None) -> str:
    call_command("ingest_email", *[str(FIXTURES / n) for n in names])
    return capsys.readouterr().out if capsys else ""


@pytest.mark.parametrize(("name", "subject", "text", "email"), [
    ("plain_utf8_chinese.eml", "投诉：快递延误三周仍未送达", "88120345", "zhang.wei@example.com"),
    ("base64_utf8.eml", "质量问题：收到的商品有破损", "杯子本身有裂缝", "lina@example.org"),
    ("gbk_body_gb2312_subject.eml", "关于朱镕先生的退款投诉", "朱镕先生", "wangzhe@example.net"),
    ("html_only.eml", "售后服务投诉", "售后服务&配送速度", "chenjing@webmail.example.com"),
    ("multipart_alternative.eml", "会员积分被清零", "积分被无故清零", "zhaolei@example.com"),
    ("quoted_printable.eml", "Refund request: broken blender", "blender",
     "anna.mueller@example.de"),
    ("bogus_charset.eml", "发票开错了", "发票抬头开错了", "wufang@example.com"),
    ("no_message_id.eml", "Missing parcel", "99001234", "zhoumin@example.com"),
])
def test_each_encoding_becomes_a_readable_email_case(capsys, name, subject, text, email):
    out = ingest(name, capsys=capsys)
    case = Case.objects.get()
    assert f"{name}: created -> {case.reference}" in out
    assert case.channel == "email" and case.source.code == "email"
    assert case.subject == subject and text in case.description
    assert not any(tag in case.description for tag in ("<p", "<div", "<br", "<script"))
    assert case.customer.email == email and case.customer.preferred_channel == "email"
    assert case.notices.filter(kind="acknowledgement", channel="email").exists()
    assert InboundMessage.objects.get().outcome == "created"


def test_chinese_mail_gets_chinese_notices_and_english_mail_english():
    ingest("plain_utf8_chinese.eml", "quoted_printable.eml")
    assert Customer.objects.get(email="zhang.wei@example.com").language == "zh-hans"
    assert Customer.objects.get(email="anna.mueller@example.de").language == "en"


def test_attachments_are_kept_checked_and_private(intake_env):
    ingest("multipart_mixed_attachments.eml")
    case = Case.objects.get()
    kept = {(a.original_name, a.content_type) for a in case.attachments.all()}
    assert kept == {("invoice-2026-0307.pdf", "application/pdf"),
                    ("photo.png", "image/png"), ("投诉材料清单.txt", "text/plain")}
    for attachment in case.attachments.all():
        assert (intake_env / attachment.file.name).exists()


def test_auto_replies_and_bounces_are_ignored(capsys):
    out = ingest("auto_reply_out_of_office.eml", "bounce_mailer_daemon.eml", capsys=capsys)
    assert "auto_reply_out_of_office.eml: ignored" in out
    assert "bounce_mailer_daemon.eml: ignored" in out
    assert not Case.objects.exists() and not Customer.objects.exists()
    assert set(InboundMessage.objects.values_list("outcome", flat=True)) == {"ignored"}


def test_each_message_is_processed_once(capsys):
    names = ["plain_utf8_chinese.eml", "no_message_id.eml", "html_only.eml"]
    ingest(*names)
    out = ingest(*names, capsys=capsys)
    assert out.count(": duplicate") == 3
    assert Case.objects.count() == 3 and InboundMessage.objects.count() == 3


def test_reply_with_reference_joins_the_case_as_customer_message(frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, actor=frontline, channel_kind="hotline",
                       email="zhang.wei@example.com")
    Case.objects.filter(pk=case.pk).update(reference="TS-2026-000123")
    outcome = ingest_email(eml("reply_with_case_ref.eml"))
    assert outcome.outcome == "joined" and outcome.case.pk == case.pk
    note = CaseNote.objects.get(case=case, kind=NoteKind.CUSTOMER_MESSAGE)
    assert note.body.startswith("谢谢，已经收到退款。") and note.visible_to_customer
    assert note.external_message_id == "reply.8@mail.example.com"
    assert Alert.objects.filter(recipient=frontline, case=case, kind="customer_message").exists()
    assert Case.objects.count() == 1
    assert ingest_email(eml("reply_with_case_ref.eml")).outcome == "duplicate"
    assert CaseNote.objects.filter(kind=NoteKind.CUSTOMER_MESSAGE).count() == 1


def test_reply_quoting_an_unknown_reference_opens_a_new_case():
    outcome = ingest_email(eml("reply_with_case_ref.eml"))
    assert outcome.outcome == "created" and Case.objects.count() == 1


def test_reply_from_another_address_is_kept_unverified_with_its_sender():
    case = CaseFactory(email="someone.else@example.com")
    Case.objects.filter(pk=case.pk).update(reference="TS-2026-000123")
    assert ingest_email(eml("reply_with_case_ref.eml")).outcome == "unverified"
    note = case.notes.get(kind=NoteKind.UNVERIFIED_MESSAGE)
    assert note.sender.endswith("<zhang.wei@example.com>") and not note.visible_to_customer
    assert not case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE).exists()


def test_a_reply_s_attachments_join_the_case_once(_env):
    from email.message import EmailMessage

    case = CaseFactory(stage=Stage.IN_PROGRESS, email="zhang.wei@example.com")
    Case.objects.filter(pk=case.pk).update(reference="TS-2026-000123")
    mail = EmailMessage()
    mail["From"], mail["To"] = "zhang.wei@example.com", "complaints@shop.example.cn"
    mail["Subject"], mail["Message-ID"] = "Re: [TS-2026-000123] 订单问题", "<photo.1@example.com>"
    mail.set_content("照片见附件。")
    mail.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, maintype="image",
                        subtype="png", filename="破损.png")
    assert ingest_email(mail.as_bytes()).outcome == "joined"
    assert ingest_email(mail.as_bytes()).outcome == "duplicate"
    (attachment, original) = case.attachments.all()  # the photo, and the e-mail as received
    assert attachment.original_name == "破损.png" and (_env / attachment.file.name).exists()
    assert original.content_type == "message/rfc822" and original.original_name.endswith(".eml")
    assert case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE, body__contains="照片").count() == 1


def test_missing_file_is_reported_and_the_rest_processed(capsys, tmp_path):
    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "nope.eml"),
                     str(FIXTURES / "base64_utf8.eml"))
    assert "nope.eml: cannot read" in capsys.readouterr().err
    assert Case.objects.count() == 1


# --- the periodic task against a real IMAP server ------------------------------------------------
@pytest.fixture
def mailbox(settings):
    with FakeImapServer(username="desk", password="pa55") as server:
        settings.IMAP_HOST, settings.IMAP_PORT = "127.0.0.1", server.port
        settings.IMAP_USER, settings.IMAP_PASSWORD = "desk", "pa55"
        settings.IMAP_FOLDER, settings.IMAP_USE_SSL = "INBOX", False
        yield server


def test_task_reads_unseen_mail_and_marks_it_seen(mailbox):
    uids = [mailbox.add_message(eml(n)) for n in (
        "plain_utf8_chinese.eml", "gbk_body_gb2312_subject.eml", "bounce_mailer_daemon.eml",
        "multipart_mixed_attachments.eml")]
    old = mailbox.add_message(eml("html_only.eml"), flags=[SEEN])
    counts = poll_mailbox_task()
    assert counts == {"created": 3, "ignored": 1}
    assert all(SEEN in mailbox.flags(uid) for uid in uids)
    assert Case.objects.count() == 3 and CaseAttachment.objects.count() == 3
    assert not Case.objects.filter(subject="售后服务投诉").exists()  # already seen: not read
    assert old in mailbox.uids()


def test_task_running_twice_and_redelivery_create_nothing_twice(mailbox):
    mailbox.add_message(eml("plain_utf8_chinese.eml"))
    poll_mailbox_task()
    assert poll_mailbox_task() == {}
    again = mailbox.add_message(eml("plain_utf8_chinese.eml"))  # the same mail delivered again
    assert poll_mailbox_task() == {"duplicate": 1}
    assert SEEN in mailbox.flags(again)
    assert Case.objects.count() == 1 and InboundMessage.objects.count() == 1


def test_task_on_a_broken_mailbox_loses_nothing(mailbox, settings):
    uid = mailbox.add_message(eml("plain_utf8_chinese.eml"))
    settings.IMAP_PASSWORD = "wrong"
    assert poll_mailbox_task() == {"error": 1}
    assert SEEN not in mailbox.flags(uid) and not Case.objects.exists()
    settings.IMAP_PASSWORD = "pa55"
    assert poll_mailbox_task() == {"created": 1}


def test_task_is_off_without_an_imap_host(settings):
    settings.IMAP_HOST = ""
    assert poll_mailbox_task() == {}


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.binary(max_size=600),
    st.builds(lambda subject, body, charset: (
        f"From: x{len(body)}@example.com\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode("utf-8", "surrogatepass")
        + body,
        st.text(max_size=40).map(lambda s: s.replace("\r", "").replace("\n", "")),
        st.binary(max_size=300), st.sampled_from(["utf-8", "gbk", "gb2312", "bogus", "base64"])),
))
def test_arbitrary_email_bytes_never_raise_and_never_half_write(raw):
    before = (Case.objects.count(), CaseDeadline.objects.count())
    outcome = ingest_email(raw)
    after = (Case.objects.count(), CaseDeadline.objects.count())
    assert outcome.outcome in {"created", "joined", "unverified", "ignored", "rejected",
                               "duplicate"}
    if outcome.outcome == "created":
        assert after == (before[0] + 1, before[1] + 3) and outcome.case.reference
    else:
        assert after == before
