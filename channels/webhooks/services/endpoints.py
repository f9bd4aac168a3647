"""What administrators do with webhook endpoints, and the system switching one off.

Every function here is the one way its intent happens (the admin calls them); each runs in
one transaction and sends after commit.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import User
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from channels.webhooks.models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

SEND_PERMISSION = "webhooks.send_webhook"


def secret_generate() -> str:
    """A new signing secret in the Standard Webhooks form: "whsec_" + base64 of 32 random
    bytes (the spec asks for 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_url_validate(url: str) -> str:
    """The URL, stripped, or InvalidInput saying what is wrong with it. With
    WEBHOOK_REQUIRE_HTTPS (production) it must be https and may not name a loopback,
    private or link-local address literally (the payloads would stay inside the network)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise InvalidInput(_("Enter a full web address, e.g. https://crm.example.cn/hooks."),
                           field="url") from exc
    parts = urlsplit(url)
    if settings.WEBHOOK_REQUIRE_HTTPS:
        if parts.scheme != "https":
            raise InvalidInput(_("Webhook addresses must use https in production."),
                               field="url")
        host = (parts.hostname or "").strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if host == "localhost" or (address is not None and not address.is_global):
            raise InvalidInput(_("Webhook addresses must be reachable public hosts in "
                                 "production, not a local or private address."), field="url")
    return url


def webhook_events_validate(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise InvalidInput(_("Unknown event: %(events)s.") % {"events": ", ".join(unknown)},
                           field="events")
    if not events:
        raise InvalidInput(_("Choose at least one event."), field="events")
    return [e for e in WebhookEvent.values if e in events]  # stable order, no repeats


def _check(actor: User, permission: str) -> None:
    if not actor.has_perm(permission):
        raise ActionForbidden(_("You may not change webhook endpoints."))


@transaction.atomic
def endpoint_create(
    *, actor: User, url: str, events: list[str], description: str = "",
    is_active: bool = True, disable_after_failures: int = 10, receiver_dedupes: bool = True,
) -> WebhookEndpoint:
    """A new endpoint with a freshly generated secret (``endpoint.secret``: show it once)."""
    _check(actor, "webhooks.add_webhookendpoint")
    return WebhookEndpoint.objects.create(
        url=webhook_url_validate(url), events=webhook_events_validate(events),
        description=description.strip()[:200], is_active=is_active,
        disable_after_failures=_limit(disable_after_failures), secret=secret_generate(),
        receiver_dedupes=receiver_dedupes,
        disabled_at=None if is_active else timezone.now(),
    )


def _limit(value: int) -> int:
    if not 1 <= int(value) <= 1000:
        raise InvalidInput(_("Choose between 1 and 1000 failures."),
                           field="disable_after_failures")
    return int(value)


@transaction.atomic
def endpoint_update(
    *, actor: User, endpoint_id: int, url: str, events: list[str], description: str,
    is_active: bool, disable_after_failures: int, receiver_dedupes: bool = True,
) -> WebhookEndpoint:
    """Change an endpoint. Switching it on again clears its failure count and queues the
    deliveries held while it was off; switching it off holds what is still queued."""
    _check(actor, "webhooks.change_webhookendpoint")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.url = webhook_url_validate(url)
    endpoint.events = webhook_events_validate(events)
    endpoint.description = description.strip()[:200]
    endpoint.disable_after_failures = _limit(disable_after_failures)
    endpoint.receiver_dedupes = receiver_dedupes
    if is_active and not endpoint.is_active:
        endpoint.consecutive_failures, endpoint.disabled_at = 0, None
        _release_held(endpoint)
    elif not is_active and endpoint.is_active:
        endpoint.disabled_at = timezone.now()
    endpoint.is_active = is_active
    endpoint.save()
    return endpoint


def _release_held(endpoint: WebhookEndpoint) -> None:
    from channels.webhooks.services.events import webhook_dispatch_on_commit

    held = [str(pk) for pk in WebhookDelivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.HELD).values_list("id", flat=True)]
    WebhookDelivery.objects.filter(id__in=held).update(
        status=DeliveryStatus.QUEUED, next_attempt_at=timezone.now())
    webhook_dispatch_on_commit(held)


@transaction.atomic
def endpoint_rotate_secret(*, actor: User, endpoint_id: int) -> WebhookEndpoint:
    """A new secret at once (the old one stops working: deliveries still queued are signed
    with the new one when they are sent)."""
    _check(actor, "webhooks.change_webhookendpoint")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.secret = secret_generate()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint


def endpoint_disable(*, endpoint: WebhookEndpoint, last_error: str) -> None:
    """Switch off an endpoint that failed ``disable_after_failures`` times in a row: alert
    every active administrator and record it in the audit trail. Precondition: the caller
    holds the endpoint's row lock in its transaction."""
    from cases.models import Alert
    from cases.services.audit import AuditAction, audit_record

    now = timezone.now()
    endpoint.is_active, endpoint.disabled_at = False, now
    endpoint.save(update_fields=["is_active", "disabled_at"])
    message = (_("Webhook endpoint %(endpoint)s was switched off after %(count)s failed "
                 "deliveries in a row.")
               % {"endpoint": str(endpoint)[:120], "count": endpoint.consecutive_failures})
    Alert.objects.bulk_create([
        Alert(recipient_id=user_id, kind="webhook_disabled", message=message[:300],
              created_at=now)
        for user_id in User.objects.filter(is_active=True, is_superuser=True)
        .values_list("id", flat=True)
    ])
    audit_record(actor=None, action=AuditAction.WEBHOOK_DISABLED, target=endpoint,
                 detail={"url": endpoint.url, "consecutive_failures":
                         endpoint.consecutive_failures, "last_error": last_error[:500]})


@transaction.atomic
def endpoint_send_test(*, actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a "webhook.test" delivery to one active endpoint (refused for an inactive one:
    its deliveries would be held)."""
    from channels.webhooks.services.events import EventData, webhook_dispatch_on_commit

    if not actor.has_perm(SEND_PERMISSION):
        raise ActionForbidden(_("You may not send webhook test events."))
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    if not endpoint.is_active:
        raise ActionNotAllowed(_("Switch the endpoint on before sending a test event."))
    now = timezone.now()
    event = EventData(type=TEST_EVENT, key=f"{TEST_EVENT}:{secrets.token_hex(8)}",
                      occurred_at=now, data={"endpoint_id": endpoint.pk,
                                             "requested_by": actor.get_username()})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type=event.type, event_key=event.key, payload=event.payload(),
        created_at=now)
    webhook_dispatch_on_commit([str(delivery.pk)])
    return delivery


@transaction.atomic
def delivery_resend(*, actor: User, delivery_id: str) -> WebhookDelivery:
    """Send a failed, held or uncertain delivery again with a fresh budget of attempts and
    the same ``webhook-id``. A delivered one is never re-sent; one in flight is left to
    finish. Needs ``webhooks.send_webhook``; the operator is noted on the row."""
    from channels.webhooks.services.events import webhook_dispatch_on_commit

    if not actor.has_perm(SEND_PERMISSION):
        raise ActionForbidden(_("You may not send webhook deliveries again."))
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise ActionNotAllowed(_("This delivery does not exist."))
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.HELD,
                               DeliveryStatus.UNCERTAIN):
        raise ActionNotAllowed(
            _("Only a failed, held or uncertain delivery can be sent again (this one is "
              "“%(status)s”).") % {"status": delivery.get_status_display()})
    if not delivery.endpoint.is_active:
        raise ActionNotAllowed(_("Switch the endpoint on before sending again."))
    delivery.status = DeliveryStatus.QUEUED
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.last_error = f"[sent again by {actor.get_username()}] {delivery.last_error}"[:2000]
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    webhook_dispatch_on_commit([str(delivery.pk)])
    return delivery


@transaction.atomic
def delivery_mark_delivered(*, actor: User, delivery_id: str) -> WebhookDelivery:
    """An operator confirms (e.g. from the receiver's log) that an uncertain delivery did
    arrive: it becomes delivered and is never sent again."""
    if not actor.has_perm(SEND_PERMISSION):
        raise ActionForbidden(_("You may not send webhook deliveries again."))
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise ActionNotAllowed(_("This delivery does not exist."))
    if delivery.status != DeliveryStatus.UNCERTAIN:
        raise ActionNotAllowed(
            _("Only an uncertain delivery can be marked as delivered (this one is "
              "“%(status)s”).") % {"status": delivery.get_status_display()})
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = delivery.sending_started_at or timezone.now()
    delivery.last_error = (f"[marked delivered by {actor.get_username()}] "
                           f"{delivery.last_error}")[:2000]
    delivery.save(update_fields=["status", "sent_at", "last_error"])
    return delivery
