"""The complainant's review request 申请核查: one per case, its reviewer and its conclusion."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import ReviewOutcome


class ReviewVia(models.TextChoices):
    SURVEY = "survey", _("Survey page")
    TRACK = "track", _("Progress page")


class CaseReview(models.Model):
    """A review the complainant asked for once feedback was given. The one-to-one key makes
    "once per case" a database fact; the case carries the requested / due / concluded times
    (read by the KPIs), this row the reason, the reviewer and the conclusion."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="review")
    reason = models.TextField(_("reason"))
    via = models.CharField(_("asked on"), max_length=10, choices=ReviewVia.choices)
    previous_stage = models.CharField(_("stage before the review"), max_length=20)
    requested_at = models.DateTimeField(_("requested"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="reviews",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=ReviewOutcome.choices,
                               blank=True)
    conclusion = models.TextField(_("reasons for the conclusion"), blank=True)
    new_solution = models.TextField(_("new solution"), blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)

    class Meta:
        verbose_name = _("review request")
        verbose_name_plural = _("review requests")

    def __str__(self) -> str:
        return f"review of {self.case_id}"
