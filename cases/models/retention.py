"""The personal-data lifecycle (PIPL): how long a closed case keeps its personal data, the legal
holds that suspend that, and customers' erasure requests kept as proof of what was done."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import Category


class RetentionRule(models.Model):
    """How many months after closing a case of one category keeps its personal data. The rule
    with no category is the default for categories without their own rule; with no rule at
    all nothing is anonymised."""

    category = models.CharField(
        _("category"), max_length=30, choices=Category.choices, blank=True, unique=True,
        help_text=_("Empty: the default for every category without its own rule."),
    )
    months = models.PositiveSmallIntegerField(
        _("months after closing"), validators=[MinValueValidator(1), MaxValueValidator(1200)],
        help_text=_("For example 36 for three years."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["category"]
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")

    def __str__(self) -> str:
        label = self.get_category_display() if self.category else _("Default")
        return f"{label}: {self.months}"


class LegalHoldQuerySet(models.QuerySet):
    def active(self, now: datetime) -> LegalHoldQuerySet:
        """Holds in force at ``now``: not lifted and not past their end date."""
        return self.filter(lifted_at__isnull=True).filter(Q(until__isnull=True) | Q(until__gt=now))


class LegalHold(models.Model):
    """A case's personal data must be kept (litigation, a regulator's inquiry): while a hold is
    in force the case is neither anonymised nor erased."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="legal_holds"
    )
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"))
    until = models.DateTimeField(
        _("until"), null=True, blank=True, help_text=_("Empty: until lifted."),
    )
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("lifted by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        ordering = ["-set_at", "-id"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [models.Index(fields=["case", "lifted_at"], name="legal_hold_case_idx")]

    def __str__(self) -> str:
        # Not the reason: this is what the audit trail copies, and a reason may name people.
        return str(_("Legal hold %(id)s on case %(case)s") % {"id": self.pk, "case": self.case_id})

    def is_active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.until is None or self.until > now)


class ErasureStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class ErasureRequest(models.Model):
    """A customer's request to erase their personal data. Kept after it is carried out, with
    no personal data (the customer row it points to is anonymised), as proof."""

    customer = models.ForeignKey(
        "cases.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
        related_name="erasure_requests",
    )
    received_at = models.DateTimeField(_("received"))
    received_via = models.CharField(
        _("received via"), max_length=100, blank=True,
        help_text=_("How the customer asked (hotline, letter, e-mail...)."),
    )
    note = models.TextField(
        _("note"), blank=True,
        help_text=_("Personal data written here is removed when the request is carried out."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decided_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    cases_erased = models.PositiveIntegerField(_("cases anonymised"), default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")

    def __str__(self) -> str:
        return str(_("Erasure request %(id)s") % {"id": self.pk})
