"""Outbound webhooks: the endpoints an administrator configures and the delivery outbox.

A delivery row is written in the same transaction as the case change it reports (one per
event and subscribed endpoint; ``(endpoint, event_key)`` is unique), and sent by a worker
after commit (see ``channels.webhooks.services.delivery``). Its primary key is the Standard Webhooks
``webhook-id``: every attempt of one delivery carries the same id, so a receiver can drop
a repeat.
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    CASE_RECEIVED = "case.received", _("Case received")
    TIER_SET = "case.tier_set", _("Tier set")
    ASSIGNED = "case.assigned", _("Case assigned")
    STAGE_CHANGED = "case.stage_changed", _("Stage changed")
    DEADLINE_AT_RISK = "case.deadline_at_risk", _("Deadline at risk")
    DEADLINE_BREACHED = "case.deadline_breached", _("Deadline breached")
    RESOLVED = "case.resolved", _("Case resolved")
    CLOSED = "case.closed", _("Case closed")
    COMPENSATION_DECIDED = "case.compensation_decided", _("Compensation decided")


# Sent only by the admin's "send test event" action; no endpoint subscribes to it.
TEST_EVENT = "webhook.test"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Delivered")
    FAILED = "failed", _("Failed")
    # The endpoint was inactive when the delivery's turn came: it waits, and is queued again
    # when an administrator activates the endpoint.
    HELD = "held", _("Held (endpoint inactive)")
    # Abandoned mid-send (worker killed) for an endpoint whose receiver cannot drop repeats:
    # it may have arrived; a person checks and sends it again or marks it delivered.
    UNCERTAIN = "uncertain", _("Uncertain")


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The signing secret in the Standard Webhooks form "whsec_<base64>". Shown once after
    # creation or rotation; the admin shows only its first characters afterwards.
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    events = models.JSONField(_("subscribed events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disable_after_failures = models.PositiveSmallIntegerField(
        _("disable after consecutive failures"), default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("Failed attempts in a row after which the endpoint is switched off and "
                    "the administrators are alerted."),
    )
    receiver_dedupes = models.BooleanField(
        _("receiver drops repeats"), default=True,
        help_text=_("The receiver ignores a second delivery with the same webhook-id, as the "
                    "Standard Webhooks specification asks. If not, a delivery interrupted "
                    "mid-send is held as uncertain for a person instead of being sent again."),
    )
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        permissions = [("send_webhook", _("Can send webhook deliveries again and test events"))]

    def __str__(self) -> str:
        return self.description or self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class WebhookDelivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries", verbose_name=_("endpoint"))
    event_type = models.CharField(_("event"), max_length=40)
    # What happened, unique per endpoint: e.g. "case.resolved:transition:812".
    event_key = models.CharField(max_length=120)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("case"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"],
                                    name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_status_idx"),
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.get_status_display()})"

    @property
    def message_id(self) -> str:
        """The Standard Webhooks ``webhook-id``: stable across attempts."""
        return f"msg_{self.id.hex}"
