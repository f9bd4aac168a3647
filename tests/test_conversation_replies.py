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


# --- channels --------------------------------------------------------------------------------
def test_sms_reply_with_files_sends_the_files_in_an_email_copy(case, frontline, intake_env,
                                                               sms_folder,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = case_send_reply(actor=frontline, case_id=case.pk, body="请查收发票",
                               channel=ContactChannel.SMS, files=[pdf()])
    sms = Notice.objects.get(pk=note.notice_id)
    assert sms.channel == ContactChannel.SMS and sms.status == NoticeStatus.SENT
    assert "请查收发票" in sms.body and "1" in sms.body.splitlines()[-1]
    copy = Notice.objects.get(case=case, kind=NoticeKind.REPLY, channel=ContactChannel.EMAIL)
    assert copy.status == NoticeStatus.SENT
    sent = [m for m in mail.outbox if m.to == [case.customer.email]][-1]
    assert sent.attachments[0][0] == "invoice.pdf"


def test_files_need_an_email_address(frontline, intake_env):
    case = CaseFactory(stage=Stage.TRIAGED, email="", preferred_channel=ContactChannel.SMS)
    with pytest.raises(InvalidInput) as err:
        case_send_reply(actor=frontline, case_id=case.pk, body="见附件",
                        channel=ContactChannel.SMS, files=[pdf()])
    assert err.value.field == "files"
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()
    assert not CaseAttachment.objects.filter(case=case).exists()


def test_a_channel_the_customer_has_no_address_on_is_refused(case, frontline):
    with pytest.raises(InvalidInput) as err:
        case_send_reply(actor=frontline, case_id=case.pk, body="你好",
                        channel=ContactChannel.WECHAT)
    assert err.value.field == "channel"


def test_a_closed_case_takes_no_reply(frontline):
    from cases.services import ActionNotAllowed

    case = CaseFactory(stage=Stage.INVALID)
    with pytest.raises(ActionNotAllowed):
        case_send_reply(actor=frontline, case_id=case.pk, body="你好",
                        channel=ContactChannel.EMAIL)


def test_a_stale_version_is_a_conflict(case, frontline):
    from cases.services import ConflictError

    with pytest.raises(ConflictError):
        case_send_reply(actor=frontline, case_id=case.pk, body="你好",
                        channel=ContactChannel.EMAIL, version=case.version - 1)
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()


# --- the first-response clock -----------------------------------------------------------------
def test_the_first_reply_stops_the_response_clock(frontline):
    from cases.choices import Clock
    from cases.models import CaseDeadline

    case = CaseFactory(stage=Stage.RECEIVED)
    assert case.first_responded_at is None
    assert CaseDeadline.objects.filter(case=case, clock=Clock.RESPONSE,
                                       stopped_at__isnull=True).exists()
    first = case_send_reply(actor=frontline, case_id=case.pk, body="已收到，我们正在核实。",
                            channel=ContactChannel.EMAIL)
    case.refresh_from_db()
    assert case.first_responded_at == first.created_at
    assert not CaseDeadline.objects.filter(case=case, clock=Clock.RESPONSE,
                                           stopped_at__isnull=True).exists()
    case_send_reply(actor=frontline, case_id=case.pk, body="补充说明", channel=ContactChannel.EMAIL)
    case.refresh_from_db()
    assert case.first_responded_at == first.created_at


# --- exactly once, failure and "send again" ---------------------------------------------------
def test_the_send_task_run_twice_sends_once(case, frontline):
    from cases.tasks import send_notice_task

    note = case_send_reply(actor=frontline, case_id=case.pk, body="已处理",
                           channel=ContactChannel.EMAIL)
    before = len(mail.outbox)
    send_notice_task.apply(args=[note.notice_id])
    send_notice_task.apply(args=[note.notice_id])
    assert len(mail.outbox) == before + 1
    assert Notice.objects.get(pk=note.notice_id).status == NoticeStatus.SENT


class RefusingSms:
    def send(self, notice):
        from cases.notice_backends import PermanentDeliveryError

        raise PermanentDeliveryError("number blocked by the gateway")


def test_a_failed_reply_shows_why_and_its_author_sends_it_again(case, frontline, settings,
                                                                 sms_folder):
    from cases.services.conversation import reply_resend

    settings.COMPLAINTS_SMS_BACKEND = "tests.test_conversation_replies.RefusingSms"
    note = case_send_reply(actor=frontline, case_id=case.pk, body="短信回复",
                           channel=ContactChannel.SMS)
    assert notice_send(notice_id=note.notice_id).status == "failed"
    failed = Notice.objects.get(pk=note.notice_id)
    assert failed.status == NoticeStatus.FAILED and "blocked" in failed.last_error

    settings.COMPLAINTS_SMS_BACKEND = "cases.notice_backends.FileSmsBackend"
    reply_resend(actor=frontline, case_id=case.pk, notice_id=failed.pk)
    assert Notice.objects.get(pk=failed.pk).status == NoticeStatus.QUEUED
    assert notice_send(notice_id=failed.pk).status == "sent"
    assert len(list((sms_folder / "sms").glob("*.json"))) == 1


def test_only_the_author_owner_handler_or_a_supervisor_sends_a_reply_again(
        case, frontline, frontline2, supervisor, settings):
    from cases.services import ActionNotAllowed
    from cases.services.conversation import reply_resend

    settings.COMPLAINTS_SMS_BACKEND = "tests.test_conversation_replies.RefusingSms"
    note = case_send_reply(actor=frontline, case_id=case.pk, body="短信回复",
                           channel=ContactChannel.SMS)
    notice_send(notice_id=note.notice_id)
    with pytest.raises(ActionForbidden):
        reply_resend(actor=frontline2, case_id=case.pk, notice_id=note.notice_id)
    reply_resend(actor=supervisor, case_id=case.pk, notice_id=note.notice_id)
    with pytest.raises(ActionNotAllowed):  # queued again: not failed any more
        reply_resend(actor=supervisor, case_id=case.pk, notice_id=note.notice_id)


# --- files and rollbacks ----------------------------------------------------------------------
def test_a_rollback_removes_the_stored_files_nested_or_not(case, frontline, intake_env):
    from cases.services.attachments import atomic_with_files, attach_files
    from channels.attachments import private_storage

    names = []
    with pytest.raises(RuntimeError):
        with atomic_with_files():
            names += [r.file.name for r in attach_files(case=case, files=[pdf()],
                                                        actor=frontline)]
            with atomic_with_files():  # e.g. a note service called inside another action
                names += [r.file.name for r in attach_files(case=case, files=[pdf("b.pdf")],
                                                            actor=frontline)]
            assert all(private_storage().exists(n) for n in names)
            raise RuntimeError("the outer action fails after both stored their files")
    assert len(names) == 2
    assert not any(private_storage().exists(n) for n in names)
    assert not CaseAttachment.objects.filter(case=case).exists()


def test_more_files_than_intake_allows_are_refused(case, frontline, intake_env):
    with pytest.raises(InvalidInput) as err:
        case_send_reply(actor=frontline, case_id=case.pk, body="见附件",
                        channel=ContactChannel.EMAIL, files=[pdf(f"{i}.pdf") for i in range(6)])
    assert err.value.field == "files"
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()
