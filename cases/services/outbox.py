"""Sending outbox notices exactly once."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cases.choices import ContactChannel
from cases.models import Notice
from cases.models.notices import NoticeStatus

logger = logging.getLogger(__name__)


def _deliver(notice: Notice) -> None:
    if notice.channel == ContactChannel.EMAIL:
        EmailMessage(notice.subject, notice.body, settings.DEFAULT_FROM_EMAIL,
                     [notice.recipient], headers={"X-Notice-Key": notice.idempotency_key}).send()
        return
    backend_path = (
        settings.COMPLAINTS_WECHAT_BACKEND if notice.channel == ContactChannel.WECHAT
        else settings.COMPLAINTS_SMS_BACKEND
    )
    import_string(backend_path)().send(notice)


def notice_send(*, notice_id: int) -> str:
    """Claim the notice (queued -> sending) under a row lock, deliver it, mark it sent. A
    notice already sent or being sent by another worker is left alone."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None or notice.status not in (NoticeStatus.QUEUED, NoticeStatus.FAILED):
            return "skipped"
        notice.status = NoticeStatus.SENDING
        notice.attempts += 1
        notice.sending_started_at = timezone.now()
        notice.save(update_fields=["status", "attempts", "sending_started_at"])
    try:
        _deliver(notice)
    except Exception as exc:  # noqa: BLE001 - any delivery failure is recorded and retried
        Notice.objects.filter(pk=notice.pk).update(
            status=NoticeStatus.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning("notice %s failed: %s", notice.pk, type(exc).__name__)
        return "failed"
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.SENT, sent_at=timezone.now())
    return "sent"
