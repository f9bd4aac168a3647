"""Replies to the customer from the case (issue 15, item 1): the service and the outbox."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.choices import ContactChannel, NoteKind, Stage
from cases.models import CaseAttachment, CaseNote, Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.services import ActionForbidden, InvalidInput
from cases.services.conversation import case_send_reply
from cases.services.outbox import notice_send
from tests.factories import CaseFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def case(db):
    return CaseFactory(stage=Stage.TRIAGED)


def test_reply_writes_note_files_and_one_outbox_row(case, frontline, intake_env,
                                                    django_capture_on_commit_callbacks):
    # Given a case whose customer has an e-mail address
    # When an agent replies with a file
    with django_capture_on_commit_callbacks(execute=True):
        note = case_send_reply(actor=frontline, case_id=case.pk, body="您好，已为您补发。",
                               channel=ContactChannel.EMAIL, files=[pdf()])
    # Then the reply note, its file and its outbox row exist, and it was sent with the file
    note.refresh_from_db()
    assert note.kind == NoteKind.REPLY and note.visible_to_customer
    assert note.notice.kind == NoticeKind.REPLY
    assert note.notice.status == NoticeStatus.SENT
    assert [f.original_name for f in note.files.all()] == ["invoice.pdf"]
    sent = [m for m in mail.outbox if m.to == [case.customer.email]][-1]
    assert sent.body == "您好，已为您补发。"
    assert sent.attachments[0][0] == "invoice.pdf"
    assert "Auto-Submitted" not in sent.extra_headers
    assert sent.reply_to and "+c" in sent.reply_to[0]


@pytest.mark.parametrize("body, field", [("   ", "body"), ("x" * (10 * 1024 * 1024), "body")])
def test_bad_reply_text_writes_nothing(case, frontline, body, field):
    notes, notices = CaseNote.objects.count(), Notice.objects.count()
    with pytest.raises(InvalidInput) as err:
        case_send_reply(actor=frontline, case_id=case.pk, body=body,
                        channel=ContactChannel.EMAIL)
    assert err.value.field == field
    assert (CaseNote.objects.count(), Notice.objects.count()) == (notes, notices)


def test_refused_file_type_writes_nothing(case, frontline, intake_env):
    notes = CaseNote.objects.count()
    evil = SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>",
                              content_type="text/html")
    with pytest.raises(InvalidInput) as err:
        case_send_reply(actor=frontline, case_id=case.pk, body="见附件",
                        channel=ContactChannel.EMAIL, files=[evil])
    assert err.value.field == "files" and "page.html" in err.value.message
    assert CaseNote.objects.count() == notes
    assert not CaseAttachment.objects.filter(note__isnull=False).exists()
    assert not any(intake_env.rglob("*.*")) if intake_env.exists() else True


def test_liaison_may_not_reply(case, liaison):
    with pytest.raises(ActionForbidden):
        case_send_reply(actor=liaison, case_id=case.pk, body="hi", channel=ContactChannel.EMAIL)


def test_outbox_sends_a_reply_exactly_once(case, frontline, intake_env):
    note = case_send_reply(actor=frontline, case_id=case.pk, body="已处理",
                           channel=ContactChannel.EMAIL)
    before = len(mail.outbox)
    assert notice_send(notice_id=note.notice_id).status == "sent"
    assert notice_send(notice_id=note.notice_id).status == "skipped"
    assert len(mail.outbox) == before + 1
