"""The customer notice outbox, its templates, and satisfaction revisits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.choices import ContactChannel, RevisitMethod


class NoticeKind(models.TextChoices):
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    FEEDBACK = "feedback", _("Result feedback")
    SURVEY = "survey", _("Survey invitation")
    FOLLOW_UP = "follow_up", _("Follow-up")
    STAFF_ALERT = "staff_alert", _("Staff alert")
    REVIEW_RECEIVED = "review_received", _("Review request received")
    REVIEW_RESULT = "review_result", _("Review result")
    PAUSE = "pause", _("Handling paused")
    EXTENSION = "extension", _("Statutory extension")
    LETTER = "letter", _("Final-response letter")
    REPLY = "reply", _("Reply")
    MERGED = "merged", _("Cases merged")


class NoticeStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Claimed, never recorded, and the transport cannot say whether it was delivered: it waits
    # for a person (send again / mark as delivered), never for the sweep.
    UNCERTAIN = "uncertain", _("Uncertain")


class Notice(models.Model):
    """An outbox row, written in the same transaction as the change that causes it and sent by
    a worker. ``idempotency_key`` is unique: the same intent is never queued twice, and the
    sender checks the row's status under a lock so it is never sent twice."""

    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    # An e-mail address may be 254 characters (RFC 5321), as the intake forms allow.
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    context = models.JSONField(_("context"), default=dict, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    # An e-mail's Message-ID without brackets (``message_id_for``), set when the notice is
    # built: a customer's reply names it in In-Reply-To / References and so joins the case.
    message_id = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Who settled an uncertain or failed notice by hand, and when (the decision is in last_error).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=pgettext_lazy("notice", "decided by"),
    )
    decided_at = models.DateTimeField(pgettext_lazy("notice", "decided"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        permissions = [
            ("decide_notice", _("Can send a notice again or mark it as delivered")),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notice_status_idx"),
            models.Index(fields=["case", "created_at"], name="notice_case_idx"),
            models.Index(fields=["message_id"], name="notice_message_id_idx",
                         condition=~models.Q(message_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class NoticeTemplate(models.Model):
    """Admin-editable text per notice kind x channel x language. ``{reference}``-style fields
    are filled from the notice context."""

    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))

    class Meta:
        ordering = ["kind", "channel", "language"]
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "language"], name="notice_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_channel_display()} / {self.language}"


class Revisit(models.Model):
    """The satisfaction revisit of one feedback round. Survey and phone call race; the first
    answer is recorded and the other is refused."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="revisits")
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    due_at = models.DateTimeField(_("due"))
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    token_nonce = models.CharField(max_length=32, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, choices=RevisitMethod.choices,
                              blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["case", "round"]
        verbose_name = _("revisit")
        verbose_name_plural = _("revisits")
        constraints = [
            models.UniqueConstraint(fields=["case", "round"], name="revisit_once_per_round")
        ]

    def __str__(self) -> str:
        return f"revisit {self.round} of case {self.case_id}"
