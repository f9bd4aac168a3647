"""The notice outbox: queued with the change, dispatched after commit, sent exactly once,
retried with backoff, recovered by the sweep; channels, templates and the admin."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.choices import ContactChannel, Stage
from cases.models import Notice, NoticeTemplate
from cases.models.notices import NoticeKind, NoticeStatus
from cases.notice_backends import FileSmsBackend, PermanentDeliveryError, message_id_for
from cases.notice_texts import render_notice, template_problems
from cases.services import outbox
from cases.services.notices import notice_queue
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _notice(case, kind=NoticeKind.ACKNOWLEDGEMENT) -> Notice:
    return Notice.objects.get(case=case, kind=kind)


# --- queued with the change, dispatched after commit -------------------------------------------
def test_acknowledgement_is_queued_with_the_case_and_sent_only_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = CaseFactory()
    notice = _notice(case)
    assert notice.status == NoticeStatus.QUEUED and len(mail.outbox) == 0
    assert callbacks, "dispatch waits for the commit"

    for callback in callbacks:
        callback()

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 1
    assert notice.sent_at is not None and notice.last_error == ""
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [case.customer.email] and case.reference in sent.subject
    assert sent.extra_headers["Message-ID"] == message_id_for(notice.idempotency_key)
    assert sent.extra_headers["X-Complaints-Notice-Key"] == notice.idempotency_key


def test_a_rolled_back_change_leaves_no_notice_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(stage=Stage.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.case_give_feedback(actor=case.owner, case_id=case.pk, message="已补发",
                                        preventive_measures="更换物流服务商。")
            raise RuntimeError("the request failed after the service ran")
    assert callbacks == []
    assert not Notice.objects.filter(case=case, kind=NoticeKind.FEEDBACK).exists()
    assert mail.outbox == []


def test_result_feedback_notice_names_result_compensation_and_measures(
    django_capture_on_commit_callbacks,
):
    from decimal import Decimal

    case = CaseFactory(stage=Stage.RESOLVED, compensation=Decimal("50"))
    with django_capture_on_commit_callbacks(execute=True):
        services.case_give_feedback(actor=case.owner, case_id=case.pk, message="已补发商品。",
                                    preventive_measures="更换物流服务商。")
    notice = _notice(case, NoticeKind.FEEDBACK)
    assert notice.status == NoticeStatus.SENT
    body = mail.outbox[-1].body
    assert "已补发商品。" in body and "更换物流服务商。" in body and "50" in body


def test_follow_up_notice_is_sent_when_the_follow_up_completes(
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(stage=Stage.FOLLOW_UP)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_complete_follow_up(actor=case.owner, case_id=case.pk,
                                         message="追加补偿 100 元优惠券。")
    notice = _notice(case, NoticeKind.FOLLOW_UP)
    assert notice.status == NoticeStatus.SENT
    assert "追加补偿" in mail.outbox[-1].body


def test_a_long_multi_line_value_in_a_template_subject_is_one_line_that_fits(
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(stage=Stage.FOLLOW_UP)
    language = case.customer.language or "zh-hans"
    NoticeTemplate.objects.update_or_create(
        kind=NoticeKind.FOLLOW_UP, channel=ContactChannel.EMAIL, language=language,
        defaults={"subject": "{reference}: {message}", "body": "{message}"})
    message = "第一行\n第二行 " + "补" * 300
    with django_capture_on_commit_callbacks(execute=True):
        services.case_complete_follow_up(actor=case.owner, case_id=case.pk, message=message)
    notice = _notice(case, NoticeKind.FOLLOW_UP)
    assert notice.status == NoticeStatus.SENT
    assert len(notice.subject) == 200 and notice.subject.endswith("…")
    assert notice.subject.startswith(f"{case.reference}: 第一行 第二行 补")
    assert mail.outbox[-1].subject == notice.subject and mail.outbox[-1].body == message


def test_a_retried_action_queues_no_second_notice():
    case = CaseFactory()
    first = notice_queue(case=case, kind=NoticeKind.ACKNOWLEDGEMENT, key="ack")
    assert first == _notice(case)
    assert Notice.objects.filter(case=case, kind=NoticeKind.ACKNOWLEDGEMENT).count() == 1


# --- channels ----------------------------------------------------------------------------------
def test_sms_preference_goes_by_the_sms_backend(sms_folder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = CaseFactory(preferred_channel=ContactChannel.SMS)
    notice = _notice(case)
    assert notice.channel == ContactChannel.SMS and notice.recipient == case.customer.phone
    assert notice.status == NoticeStatus.SENT and mail.outbox == []
    written = json.loads(FileSmsBackend().path_for(notice.idempotency_key).read_text())
    assert written["to"] == case.customer.phone and case.reference in written["body"]


def test_wechat_without_an_id_falls_back_to_email(sms_folder):
    case = CaseFactory(preferred_channel=ContactChannel.WECHAT)
    assert _notice(case).channel == ContactChannel.EMAIL


def test_wechat_with_an_id_goes_by_wechat(sms_folder):
    case = CaseFactory()
    case.customer.preferred_channel = ContactChannel.WECHAT
    case.customer.wechat_openid = "oABC123"
    case.customer.save()
    notice = notice_queue(case=case, kind=NoticeKind.FOLLOW_UP, key="x", context={"message": "hi"})
    assert notice.channel == ContactChannel.WECHAT and notice.recipient == "oABC123"
    assert outbox.notice_send(notice_id=notice.pk).status == "sent"
    assert (sms_folder / "wechat").is_dir()


def test_the_default_sms_backend_logs_without_the_phone_number(caplog, settings):
    settings.COMPLAINTS_SMS_BACKEND = "cases.notice_backends.LoggingSmsBackend"
    case = CaseFactory(preferred_channel=ContactChannel.SMS)
    with caplog.at_level("INFO", logger="cases.notices"):
        assert outbox.notice_send(notice_id=_notice(case).pk).status == "sent"
    assert "would be sent" in caplog.text and case.customer.phone not in caplog.text


# --- templates ---------------------------------------------------------------------------------
def test_templates_are_seeded_for_every_kind_written_channel_and_language(settings):
    languages = [code for code, _name in settings.LANGUAGES]
    channels = [ContactChannel.EMAIL, ContactChannel.SMS, ContactChannel.WECHAT]
    # A reply is the agent's own text (cases.services.conversation), never a template.
    for kind in set(NoticeKind.values) - {NoticeKind.REPLY}:
        for channel in channels:
            for language in languages:
                assert NoticeTemplate.objects.filter(kind=kind, channel=channel,
                                                     language=language).exists()


def test_notice_text_follows_the_customer_language():
    case = CaseFactory()
    case.customer.language = "en"
    case.customer.save()
    notice = notice_queue(case=case, kind=NoticeKind.FOLLOW_UP, key="en",
                          context={"message": "We added a coupon."})
    assert notice.language == "en"
    assert notice.subject.startswith("Follow-up on your complaint")
    assert "We added a coupon." in notice.body


def test_an_admin_edited_template_is_used():
    NoticeTemplate.objects.filter(kind=NoticeKind.FOLLOW_UP, channel="email",
                                  language="zh-hans").update(subject="跟进 {reference}",
                                                             body="亲爱的{customer_name}：{message}")
    case = CaseFactory()
    notice = notice_queue(case=case, kind=NoticeKind.FOLLOW_UP, key="t", context={"message": "好"})
    assert notice.subject == f"跟进 {case.reference}"
    assert notice.body == f"亲爱的{case.customer.name}：好"


def test_a_broken_template_falls_back_to_the_default_text():
    NoticeTemplate.objects.filter(kind=NoticeKind.FOLLOW_UP, channel="email",
                                  language="en").update(body="Hi {customer_name.__class__} {")
    subject, body = render_notice(kind=NoticeKind.FOLLOW_UP, channel="email", language="en",
                                  context={"reference": "TS-1", "message": "m"})
    assert "TS-1" in subject and "m" in body and "__class__" not in body


def test_template_validation_names_unknown_placeholders():
    assert template_problems(NoticeKind.SURVEY, "{survey_url} {expires_on}") == []
    assert template_problems(NoticeKind.SURVEY, "{password}")
    assert template_problems(NoticeKind.SURVEY, "{survey_url")


# --- sending exactly once ----------------------------------------------------------------------
def test_a_sent_notice_is_never_sent_again():
    notice = _notice(CaseFactory())
    assert outbox.notice_send(notice_id=notice.pk).status == "sent"
    assert outbox.notice_send(notice_id=notice.pk).status == "skipped"
    assert len(mail.outbox) == 1


def test_a_transient_failure_is_retried_with_exponential_backoff(settings):
    settings.OUTBOX_BACKOFF_SECONDS, settings.OUTBOX_MAX_ATTEMPTS = 30, 3
    notice = _notice(CaseFactory())
    now = timezone.now()
    with mock.patch("cases.notice_backends.EmailMessage.send", side_effect=TimeoutError("slow")):
        first = outbox.notice_send(notice_id=notice.pk, now=now)
    notice.refresh_from_db()
    assert first.status == "retry" and 30 <= first.retry_in <= 36
    assert notice.status == NoticeStatus.QUEUED and notice.attempts == 1
    assert "TimeoutError" in notice.last_error
    assert notice.next_attempt_at == now + timedelta(seconds=first.retry_in)

    assert outbox.notice_send(notice_id=notice.pk, now=now).reason == "not due"

    later = notice.next_attempt_at
    with mock.patch("cases.notice_backends.EmailMessage.send", side_effect=TimeoutError("slow")):
        second = outbox.notice_send(notice_id=notice.pk, now=later)
    assert 60 <= second.retry_in <= 72  # doubled

    notice.refresh_from_db()
    assert outbox.notice_send(notice_id=notice.pk, now=notice.next_attempt_at).status == "sent"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 3
    assert len(mail.outbox) == 1


def test_backoff_doubles_per_attempt_and_is_capped(settings):
    settings.OUTBOX_BACKOFF_SECONDS, settings.OUTBOX_BACKOFF_MAX_SECONDS = 30, 600
    assert 30 <= outbox.backoff_seconds(1) <= 36
    assert 60 <= outbox.backoff_seconds(2) <= 72
    assert 240 <= outbox.backoff_seconds(4) <= 288
    assert 600 <= outbox.backoff_seconds(20) <= 720


def test_attempts_run_out_and_the_notice_fails_visibly(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    notice = _notice(CaseFactory())
    now = timezone.now()
    with mock.patch("cases.notice_backends.EmailMessage.send", side_effect=OSError("down")):
        outbox.notice_send(notice_id=notice.pk, now=now)
        result = outbox.notice_send(notice_id=notice.pk, now=now + timedelta(hours=1))
    notice.refresh_from_db()
    assert result.status == "failed" and notice.status == NoticeStatus.FAILED
    assert notice.attempts == 2 and "OSError: down" in notice.last_error


def test_a_permanent_error_fails_without_retrying():
    notice = _notice(CaseFactory())
    with mock.patch("cases.notice_backends.EmailMessage.send",
                    side_effect=PermanentDeliveryError("no such mailbox")):
        assert outbox.notice_send(notice_id=notice.pk).status == "failed"
    notice.refresh_from_db()
    assert notice.attempts == 1 and notice.status == NoticeStatus.FAILED


def _crash_mid_send(notice: Notice, at) -> None:
    """What a worker killed after claiming leaves behind: the row in 'sending'."""
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.SENDING, attempts=1,
                                               sending_started_at=at)


def test_a_notice_in_flight_is_not_taken_by_a_second_worker():
    notice = _notice(CaseFactory())
    now = timezone.now()
    _crash_mid_send(notice, now)
    assert outbox.notice_send(notice_id=notice.pk, now=now + timedelta(seconds=5)).reason == (
        "leased"
    )
    assert mail.outbox == []


def test_after_the_lease_a_killed_send_is_sent_by_the_next_worker(settings, sms_folder):
    case = CaseFactory(preferred_channel=ContactChannel.SMS)
    notice = _notice(case)
    started = timezone.now()
    _crash_mid_send(notice, started)  # killed before the gateway got it
    later = started + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
    assert outbox.notice_send(notice_id=notice.pk, now=later).status == "sent"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 2
    assert len(list((sms_folder / "sms").glob("*.json"))) == 1


def test_a_killed_send_the_gateway_already_has_is_not_sent_again(settings, sms_folder):
    case = CaseFactory(preferred_channel=ContactChannel.SMS)
    notice = _notice(case)
    FileSmsBackend().send(notice)  # the gateway accepted it ...
    started = timezone.now()
    _crash_mid_send(notice, started)  # ... and the worker died before recording it
    with mock.patch.object(FileSmsBackend, "send") as resend:
        result = outbox.notice_send(
            notice_id=notice.pk, now=started + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
        )
    assert result.status == "already_delivered" and not resend.called
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT


def test_a_late_worker_cannot_overwrite_the_outcome_of_a_newer_attempt():
    notice = _notice(CaseFactory())
    stale = Notice.objects.get(pk=notice.pk)
    stale.attempts = 1
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.SENDING, attempts=2)
    assert outbox._finish(stale, status=NoticeStatus.FAILED) is False
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENDING


# --- the redispatch sweep ----------------------------------------------------------------------
def test_the_sweep_redispatches_lost_and_abandoned_notices_only(
    settings, django_capture_on_commit_callbacks,
):
    lost, fresh, abandoned, in_flight = (_notice(CaseFactory()) for _ in range(4))
    now = timezone.now()
    old = now - timedelta(seconds=settings.OUTBOX_REDISPATCH_AFTER_SECONDS + 5)
    Notice.objects.filter(pk=lost.pk).update(created_at=old)
    _crash_mid_send(abandoned, now - timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 5))
    _crash_mid_send(in_flight, now - timedelta(seconds=5))

    with mock.patch("cases.services.outbox.notice_dispatch") as dispatch:
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.outbox_redispatch(now=now) == 2
    assert sorted(dispatch.call_args.args[0]) == sorted([lost.pk, abandoned.pk])
    assert Notice.objects.get(pk=fresh.pk).status == NoticeStatus.QUEUED

    with mock.patch("cases.services.outbox.notice_dispatch") as dispatch:
        with django_capture_on_commit_callbacks(execute=True):
            # the lost one was just handed out again: not before another interval
            assert outbox.outbox_redispatch(now=now + timedelta(seconds=1)) == 1


def test_sweep_and_dispatch_racing_send_once(settings, django_capture_on_commit_callbacks):
    notice = _notice(CaseFactory())
    Notice.objects.filter(pk=notice.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notice_dispatch([notice.pk])  # the original message, late
        outbox.outbox_redispatch()  # the sweep's copy
        outbox.notice_dispatch([notice.pk])  # a broker redelivery
    assert len(mail.outbox) == 1
    assert Notice.objects.get(pk=notice.pk).attempts == 1


def test_a_broker_outage_does_not_fail_the_action(caplog):
    from kombu.exceptions import OperationalError

    notice = _notice(CaseFactory())
    with mock.patch("cases.tasks.send_notice_task.delay", side_effect=OperationalError("down")):
        assert outbox.notice_dispatch([notice.pk]) == 0
    assert "redispatch sweep" in caplog.text
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.QUEUED


def test_the_task_schedules_its_retry_with_the_backoff():
    from celery.exceptions import Retry

    from cases.tasks import send_notice_task

    with mock.patch("cases.services.outbox.notice_send",
                    return_value=outbox.SendOutcome("retry", retry_in=120)), \
            mock.patch.object(send_notice_task, "retry", side_effect=Retry()) as retry:
        with pytest.raises(Retry):
            send_notice_task(42)
    retry.assert_called_once_with(countdown=120)


# --- admin -------------------------------------------------------------------------------------
def test_admin_lists_notices_with_their_delivery_state(client, admin_user):
    notice = _notice(CaseFactory())
    Notice.objects.filter(pk=notice.pk).update(last_error="TimeoutError: slow", attempts=2)
    client.force_login(admin_user)
    page = client.get(reverse("admin:cases_notice_changelist"))
    assert page.status_code == 200 and b"TimeoutError" in page.content
    detail = client.get(reverse("admin:cases_notice_change", args=[notice.pk]))
    assert detail.status_code == 200 and notice.idempotency_key.encode() in detail.content


def test_admin_resends_a_failed_notice_only(client, admin_user, django_capture_on_commit_callbacks):
    failed, sent = _notice(CaseFactory()), _notice(CaseFactory())
    Notice.objects.filter(pk=failed.pk).update(status=NoticeStatus.FAILED, attempts=6,
                                               last_error="OSError: down")
    Notice.objects.filter(pk=sent.pk).update(status=NoticeStatus.SENT)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:cases_notice_changelist"), {
            "action": "resend_action", "_selected_action": [failed.pk, sent.pk],
        }, follow=True)
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == NoticeStatus.SENT and failed.attempts == 1
    assert len(mail.outbox) == 1
    assert "Only a failed or uncertain notice" in response.content.decode()


def test_admin_template_preview_and_validation(client, admin_user):
    template = NoticeTemplate.objects.get(kind=NoticeKind.SURVEY, channel="sms", language="en")
    client.force_login(admin_user)
    url = reverse("admin:cases_noticetemplate_change", args=[template.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"https://example.com/survey/abc123/" in page.content  # the preview
    assert b"{survey_url}" in page.content  # the placeholder list

    response = client.post(url, {"kind": template.kind, "channel": template.channel,
                                 "language": template.language, "subject": "",
                                 "body": "Your password: {password}"})
    assert response.status_code == 200 and b"Unknown placeholder" in response.content
    template.refresh_from_db()
    assert "{password}" not in template.body
