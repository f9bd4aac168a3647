"""Sending webhook deliveries: the claim/lock/record protocol of the notice outbox
(``cases.services.outbox``), applied to HTTP.

1. Claim in a short transaction holding the row lock: only a ``queued`` row that is due, or
   a ``sending`` row whose lease expired (its worker died), is claimed; it becomes
   ``sending``, ``attempts`` + 1, ``sending_started_at`` = now. Every duplicate message (Redis
   redelivery, the sweep, "send again") finds the row sent, failed, held, not due or leased,
   and does nothing, so no two workers ever send one delivery at the same time.
2. POST outside any transaction, signed per attempt (fresh ``webhook-timestamp``) and always
   with the delivery's own ``webhook-id``.
3. Record the outcome fenced on (status=sending, attempts=this attempt): delivered; or queued
   again with exponential backoff and jitter; or failed after WEBHOOK_MAX_ATTEMPTS. Each
   failed attempt adds one to the endpoint's consecutive failures (a success resets them);
   at the endpoint's limit it is switched off, the administrators get an alert, and the audit
   trail records it.

The one unrecorded window is between the receiver getting the request and step 3's commit.
A worker killed there leaves the row ``sending``. HTTP gives no way to ask a receiver
whether it got a message, so after the lease the claim decides by the endpoint's
``receiver_dedupes``:
- on (the default, the Standard Webhooks contract): it is sent again with the same
  ``webhook-id``, which the receiver uses to drop the repeat: nothing lost, at most that one
  delivery twice on the wire, exactly once per ``webhook-id``;
- off: it is held ``uncertain`` for a person (the admin's "send again" / "mark as
  delivered"), as the notice outbox holds a plain-SMTP e-mail: nothing lost, nothing sent
  twice, and the redispatch sweep leaves it alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cases.services.outbox import backoff_seconds
from channels.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from channels.webhooks.services.endpoints import endpoint_disable
from channels.webhooks.transport import body_bytes, post, signed_headers

logger = logging.getLogger(__name__)

_CLOCK_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | retry | failed | held | uncertain | skipped
    retry_in: int | None = None
    reason: str = ""


def _claim(delivery_id: str, now: datetime) -> tuple[WebhookDelivery | None, str]:
    lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",))
                    .select_related("endpoint").filter(pk=delivery_id).first())
        if delivery is None:
            return None, "missing"
        if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.HELD,
                               DeliveryStatus.UNCERTAIN):
            return None, delivery.status
        if delivery.status == DeliveryStatus.SENDING and (
            delivery.sending_started_at is not None
            and delivery.sending_started_at > now - lease
        ):
            return None, "leased"
        if delivery.status == DeliveryStatus.QUEUED and delivery.next_attempt_at is not None and (
            delivery.next_attempt_at > now + _CLOCK_TOLERANCE
        ):
            return None, "not due"
        if delivery.status == DeliveryStatus.SENDING and not delivery.endpoint.receiver_dedupes:
            # It may have arrived and the receiver would not recognise a repeat.
            delivery.status = DeliveryStatus.UNCERTAIN
            delivery.last_error = "[uncertain] interrupted mid-send; it may have arrived"
            delivery.save(update_fields=["status", "last_error"])
            return None, DeliveryStatus.UNCERTAIN
        if not delivery.endpoint.is_active:
            delivery.status = DeliveryStatus.HELD
            delivery.save(update_fields=["status"])
            return None, DeliveryStatus.HELD
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.sending_started_at = now
        delivery.save(update_fields=["status", "attempts", "sending_started_at"])
        return delivery, ""


def _finish(delivery: WebhookDelivery, **fields) -> bool:
    return bool(WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts,
    ).update(**fields))


def webhook_send(*, delivery_id: str, now: datetime | None = None) -> DeliveryOutcome:
    """Send one delivery if (and only if) this call wins the claim. Safe to call any number
    of times, concurrently, for the same delivery. See the module docstring."""
    now = now or timezone.now()
    delivery, reason = _claim(delivery_id, now)
    if delivery is None:
        parked = reason in (DeliveryStatus.HELD, DeliveryStatus.UNCERTAIN)
        return DeliveryOutcome(reason if parked else "skipped", reason=reason)
    endpoint = delivery.endpoint
    body = body_bytes(delivery.payload)
    headers = signed_headers(secret=endpoint.secret, message_id=delivery.message_id,
                             timestamp=timezone.now(), body=body)
    result = post(url=endpoint.url, body=body, headers=headers)
    if result.ok:
        with transaction.atomic():
            _finish(delivery, status=DeliveryStatus.SENT, sent_at=timezone.now(),
                    response_code=result.status, last_error="")
            WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(
                consecutive_failures=0).update(consecutive_failures=0)
        return DeliveryOutcome("sent")
    return _failed(delivery, now, result.status, result.error)


def _failed(delivery: WebhookDelivery, now: datetime, code: int | None,
            error: str) -> DeliveryOutcome:
    with transaction.atomic():
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            outcome = DeliveryOutcome("failed", reason="attempts exhausted")
            fields = {"status": DeliveryStatus.FAILED}
        else:
            delay = backoff_seconds(delivery.attempts)
            outcome = DeliveryOutcome("retry", retry_in=delay)
            fields = {"status": DeliveryStatus.QUEUED,
                      "next_attempt_at": now + timedelta(seconds=delay)}
        if not _finish(delivery, response_code=code, last_error=error, **fields):
            return DeliveryOutcome("skipped", reason="superseded")
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            consecutive_failures=F("consecutive_failures") + 1)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if endpoint.is_active and endpoint.consecutive_failures >= endpoint.disable_after_failures:
            endpoint_disable(endpoint=endpoint, last_error=error)
    logger.info("webhook delivery %s attempt %s failed (%s)", delivery.pk, delivery.attempts,
                code or "no answer")
    return outcome


def webhook_redispatch(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The periodic safety net (run by the outbox redispatch sweep): dispatch again every
    queued delivery whose attempt was due OUTBOX_REDISPATCH_AFTER_SECONDS ago (its message was
    lost) and every ``sending`` one whose lease expired (its worker died). Duplicate messages
    are harmless: the claim decides. Returns the number dispatched."""
    from channels.webhooks.services.events import webhook_dispatch_on_commit

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_REDISPATCH_AFTER_SECONDS)
    lease_cutoff = now - timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    with transaction.atomic():
        queued = [str(pk) for pk in (
            WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED)
            .filter(Q(next_attempt_at__lte=stale)
                    | Q(next_attempt_at__isnull=True, created_at__lte=stale))
            .order_by("next_attempt_at").select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit])]
        abandoned = [str(pk) for pk in (
            WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING,
                                           sending_started_at__lte=lease_cutoff)
            .order_by("sending_started_at").select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit])]
        if queued:
            WebhookDelivery.objects.filter(id__in=queued, status=DeliveryStatus.QUEUED).update(
                next_attempt_at=now)
        ids = queued + abandoned
        webhook_dispatch_on_commit(ids)
    if ids:
        logger.info("webhook sweep re-dispatched %d queued and %d abandoned deliveries",
                    len(queued), len(abandoned))
    return len(ids)
