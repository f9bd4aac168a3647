"""Exactly-once e-mail: a deterministic Message-ID, and a send whose outcome is unknown after a
crash is checked with the backend or held as "uncertain" for a person, never re-sent blindly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from cases.choices import ContactChannel
from cases.models import Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.notice_backends import FileSmsBackend, message_id_for
from cases.services import outbox
from cases.services.errors import ActionForbidden, ActionNotAllowed
from tests.factories import CaseFactory, UserFactory
from tests.test_worker_redis import real_broker  # noqa: F401 - the fixture, used below

pytestmark = pytest.mark.django_db


def _ack(case) -> Notice:
    return Notice.objects.get(case=case, kind=NoticeKind.ACKNOWLEDGEMENT)


def _killed_mid_send(notice: Notice, settings) -> timezone.datetime:
    """What a worker SIGKILLed between claiming and recording leaves: 'sending', attempt 1.
    Returns a moment after its lease ran out."""
    started = timezone.now() - timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 5)
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.SENDING, attempts=1,
                                               sending_started_at=started)
    return timezone.now()


def _decider():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="decide_notice"))
    user.user_permissions.add(Permission.objects.get(codename="view_notice"))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


# --- Message-ID ---------------------------------------------------------------------------------
def test_message_id_is_derived_from_the_key_and_the_sender_domain(settings):
    settings.DEFAULT_FROM_EMAIL = "Complaint desk <desk@shop.example.cn>"
    first = message_id_for("acknowledgement:42:1")
    assert first == message_id_for("acknowledgement:42:1")
    assert first != message_id_for("acknowledgement:43:1")
    assert first.startswith("<notice-") and first.endswith("@shop.example.cn>")
    settings.NOTICE_MESSAGE_ID_DOMAIN = "mail.example.org"
    assert message_id_for("acknowledgement:42:1").endswith("@mail.example.org>")


def test_a_retried_email_carries_the_same_message_id(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 1
    notice = _ack(CaseFactory())
    now = timezone.now()
    with mock.patch("cases.notice_backends.EmailMessage.send",
                    side_effect=[TimeoutError("slow"), 1], autospec=True) as send:
        assert outbox.notice_send(notice_id=notice.pk, now=now).status == "retry"
        later = now + timedelta(hours=1)
        assert outbox.notice_send(notice_id=notice.pk, now=later).status == "sent"
    ids = {call.args[0].extra_headers["Message-ID"] for call in send.call_args_list}
    assert ids == {message_id_for(notice.idempotency_key)}


# --- an unknown outcome -------------------------------------------------------------------------
def test_an_email_killed_mid_send_becomes_uncertain_not_sent_again(
    settings, django_capture_on_commit_callbacks,
):
    notice = _ack(CaseFactory())
    later = _killed_mid_send(notice, settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_redispatch(now=later) == 1  # handed to a worker, which decides
    stored = Notice.objects.get(pk=notice.pk)
    assert stored.status == NoticeStatus.UNCERTAIN and stored.attempts == 1
    assert "[uncertain]" in stored.last_error
    assert mail.outbox == []
    assert outbox.notice_send(notice_id=notice.pk).status == "uncertain"
    assert mail.outbox == []


def test_the_sweep_ignores_uncertain_notices(settings, django_capture_on_commit_callbacks):
    notice = _ack(CaseFactory())
    old = timezone.now() - timedelta(days=1)
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.UNCERTAIN, created_at=old,
                                               sending_started_at=old, next_attempt_at=old)
    with mock.patch("cases.services.outbox.notice_dispatch") as dispatch:
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.outbox_redispatch() == 0
    assert not dispatch.called
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.UNCERTAIN


def test_a_recorded_transient_email_failure_is_retried_not_held(settings):
    notice = _ack(CaseFactory())
    now = timezone.now()
    with mock.patch("cases.notice_backends.EmailMessage.send", side_effect=OSError("down")):
        outbox.notice_send(notice_id=notice.pk, now=now)
    assert outbox.notice_send(notice_id=notice.pk, now=now + timedelta(hours=1)).status == "sent"
    assert len(mail.outbox) == 1


def test_an_sms_the_gateway_has_is_marked_sent_without_a_resend(settings, sms_folder):
    notice = _ack(CaseFactory(preferred_channel=ContactChannel.SMS))
    FileSmsBackend().send(notice)  # accepted by the gateway, then the worker was killed
    later = _killed_mid_send(notice, settings)
    with mock.patch.object(FileSmsBackend, "send") as resend:
        assert outbox.notice_send(notice_id=notice.pk, now=later).status == "already_delivered"
    assert not resend.called
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT


def test_an_sms_the_gateway_cannot_answer_for_is_held_uncertain(settings, sms_folder):
    notice = _ack(CaseFactory(preferred_channel=ContactChannel.SMS))
    later = _killed_mid_send(notice, settings)
    with mock.patch.object(FileSmsBackend, "was_delivered", return_value=None), \
            mock.patch.object(FileSmsBackend, "send") as resend:
        assert outbox.notice_send(notice_id=notice.pk, now=later).status == "uncertain"
    assert not resend.called
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.UNCERTAIN


# --- a person decides ---------------------------------------------------------------------------
def _uncertain(settings) -> Notice:
    notice = _ack(CaseFactory())
    later = _killed_mid_send(notice, settings)
    outbox.notice_send(notice_id=notice.pk, now=later)
    return Notice.objects.get(pk=notice.pk)


def test_send_again_sends_an_uncertain_notice_once_and_records_who(
    settings, django_capture_on_commit_callbacks,
):
    notice, person = _uncertain(settings), _decider()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notice_resend(actor=person, notice_id=notice.pk)
    stored = Notice.objects.get(pk=notice.pk)
    assert stored.status == NoticeStatus.SENT and stored.decided_by == person
    assert stored.decided_at is not None and "re-sent by" in stored.last_error
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id_for(notice.idempotency_key)


def test_mark_delivered_settles_an_uncertain_notice_without_sending(settings):
    notice, person = _uncertain(settings), _decider()
    outbox.notice_mark_delivered(actor=person, notice_id=notice.pk)
    stored = Notice.objects.get(pk=notice.pk)
    assert stored.status == NoticeStatus.SENT and stored.decided_by == person
    assert stored.sent_at is not None and mail.outbox == []
    with pytest.raises(ActionNotAllowed):
        outbox.notice_mark_delivered(actor=person, notice_id=notice.pk)


def test_only_an_uncertain_notice_can_be_marked_delivered(settings):
    notice = _ack(CaseFactory())
    with pytest.raises(ActionNotAllowed):
        outbox.notice_mark_delivered(actor=_decider(), notice_id=notice.pk)
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.QUEUED


def test_deciding_needs_the_permission(settings):
    notice = _uncertain(settings)
    clerk = UserFactory(is_staff=True)
    with pytest.raises(ActionForbidden):
        outbox.notice_resend(actor=clerk, notice_id=notice.pk)
    with pytest.raises(ActionForbidden):
        outbox.notice_mark_delivered(actor=clerk, notice_id=notice.pk)
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.UNCERTAIN


def test_admin_filters_by_status_and_marks_uncertain_delivered(settings, client):
    notice, other = _uncertain(settings), _ack(CaseFactory())
    client.force_login(_decider())
    url = reverse("admin:cases_notice_changelist")
    listed = client.get(url, {"status__exact": "uncertain"})
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    response = client.post(url, {"action": "mark_delivered_action",
                                 "_selected_action": [notice.pk, other.pk]}, follow=True)
    assert response.status_code == 200
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    assert Notice.objects.get(pk=other.pk).status == NoticeStatus.QUEUED
    assert "Only an uncertain notice" in response.content.decode()
    assert mail.outbox == []


def test_admin_hides_the_actions_without_the_permission(settings, client):
    notice = _uncertain(settings)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notice"))
    client.force_login(viewer)
    url = reverse("admin:cases_notice_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert b"mark_delivered_action" not in page.content
    response = client.post(url, {"action": "mark_delivered_action",
                                 "_selected_action": [notice.pk]})
    assert response.status_code in (200, 302)
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.UNCERTAIN


# --- a real worker SIGKILLed mid-send (needs Redis and PostgreSQL, like test_worker_redis) -----
class StallingEmailBackend(BaseEmailBackend):
    """A mail server for the real-worker test: records each accepted Message-ID in
    NOTICE_FILE_PATH/email.log, then stalls TEST_EMAIL_STALL seconds (the kill lands there)."""

    def send_messages(self, email_messages: list) -> int:
        import os
        import time

        for message in email_messages:
            with (Path(os.environ["NOTICE_FILE_PATH"]) / "email.log").open("a") as log:
                log.write(message.extra_headers["Message-ID"] + "\n")
            time.sleep(float(os.environ.get("TEST_EMAIL_STALL", "0")))
        return len(email_messages)


def _start_worker(folder: Path, stall: float, n: int) -> subprocess.Popen:
    from django.db import connection

    from complaints_project.celery import app
    from tests.test_worker_redis import BROKER, LEASE, ROOT, VISIBILITY, _wait_for

    db = connection.settings_dict
    routes = app.conf.task_routes if isinstance(app.conf.task_routes, dict) else {}
    queues = {app.conf.task_default_queue} | {
        r["queue"] for r in routes.values() if isinstance(r, dict) and "queue" in r}
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "complaints_project.settings.base",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "OUTBOX_LEASE_SECONDS": str(LEASE), "NOTICE_FILE_PATH": str(folder),
        "EMAIL_BACKEND": "tests.test_notice_uncertain.StallingEmailBackend",
        "TEST_EMAIL_STALL": str(stall), "PYTHONPATH": str(ROOT),
    }
    log = folder / f"worker{n}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "complaints_project", "worker", "--pool=prefork",
         "--concurrency=2", "--loglevel=INFO", f"--hostname=uncertain{n}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat", f"--queues={','.join(sorted(queues))}"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    _wait_for(lambda: "ready." in log.read_text() or proc.poll() is not None, 30, "a worker")
    assert proc.poll() is None, log.read_text()[-3000:]
    return proc


@pytest.mark.realservices
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
                    reason="needs a real Redis: set CELERY_BROKER_URL=redis://host:port/db")
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the worker process must share the test database: set "
                           "DATABASE_URL=postgres://... (in-memory SQLite cannot be shared)")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_killed_after_the_mail_server_accepted_leaves_it_uncertain(
    tmp_path, real_broker,  # noqa: F811
):
    from cases.tasks import send_notice_task
    from tests.test_worker_redis import LEASE, VISIBILITY, _lines, _wait_for

    notice = Notice.objects.create(
        kind=NoticeKind.FOLLOW_UP, channel=ContactChannel.EMAIL, recipient="c@example.com",
        language="en", subject="Follow-up", body="About your complaint.", context={},
        idempotency_key=f"follow_up:uncertain:{time.monotonic_ns()}", created_at=timezone.now(),
    )
    procs = [_start_worker(tmp_path, stall=60, n=0)]
    try:
        send_notice_task.delay(notice.pk)
        _wait_for(lambda: _lines(tmp_path / "email.log"), 30, "the mail server to accept")
        killed_at = time.monotonic()
        os.killpg(procs[0].pid, signal.SIGKILL)
        procs[0].wait(10)
        time.sleep(max(0.0, killed_at + max(LEASE, VISIBILITY) + 1 - time.monotonic()))
        assert outbox.outbox_redispatch() == 1  # the sweep's copy; Redis redelivers the original
        procs.append(_start_worker(tmp_path, stall=0, n=1))
        _wait_for(lambda: Notice.objects.get(pk=notice.pk).status == NoticeStatus.UNCERTAIN, 60,
                  "the notice to be held")
        time.sleep(VISIBILITY)  # the redelivered original runs too, and must not send it
        assert outbox.outbox_redispatch() == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    assert _lines(tmp_path / "email.log") == [message_id_for(notice.idempotency_key)]
    assert Notice.objects.get(pk=notice.pk).attempts == 1
