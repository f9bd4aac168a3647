"""Admin-editable policy: SLA per tier, desk settings, the root-cause taxonomy."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import Clock, Tier
from cases.models.letters import LetterMode


class SlaPolicy(models.Model):
    """Allowed minutes per clock for one tier. Seeded with SPEC's numbers by a migration."""

    tier = models.PositiveSmallIntegerField(
        _("tier"), unique=True, choices=[c for c in Tier.choices if c[0] != Tier.UNTRIAGED]
    )
    assign_minutes = models.PositiveIntegerField(_("assign within (min)"), default=120)
    response_minutes = models.PositiveIntegerField(_("first response within (min)"))
    solution_minutes = models.PositiveIntegerField(_("solution within (min)"))
    progress_minutes = models.PositiveIntegerField(_("progress note every (min)"), default=1440)
    feedback_minutes = models.PositiveIntegerField(_("feedback within (min)"), default=1440)
    revisit_minutes = models.PositiveIntegerField(_("revisit after (min)"), default=2880)
    follow_up_minutes = models.PositiveIntegerField(_("follow-up within (min)"), default=2880)
    department_minutes = models.PositiveIntegerField(
        _("department response within (min)"), default=1440
    )
    review_minutes = models.PositiveIntegerField(
        _("complainant's review concluded within (min)"), default=21600  # 15 days
    )
    at_risk_ratio = models.DecimalField(
        _("at risk from (share of allowed time)"), max_digits=3, decimal_places=2,
        default=Decimal("0.75"),
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return str(Tier(self.tier).label)

    def minutes_for(self, clock: str) -> int:
        return int(getattr(self, f"{Clock(clock).value}_minutes"))


class DeskSettings(models.Model):
    """One row of operational settings (the admin edits it; code reads ``DeskSettings.get()``)."""

    compensation_approval_threshold = models.DecimalField(
        _("compensation needing supervisor approval above"), max_digits=10, decimal_places=2,
        default=Decimal("500.00"), validators=[MinValueValidator(0)],
    )
    duplicate_window_hours = models.PositiveIntegerField(
        _("duplicate window (hours)"), default=72
    )
    group_window_hours = models.PositiveIntegerField(
        _("group complaint window (hours)"), default=24
    )
    group_threshold = models.PositiveIntegerField(
        _("cases on one matter that make a group complaint"), default=5
    )
    review_window_days = models.PositiveIntegerField(
        _("a closed case may be reviewed within (days)"), default=30,
        help_text=_("How long after closing the complainant may still ask for a review."),
    )
    letter_mode = models.CharField(
        _("final-response letter (答复函)"), max_length=10, default=LetterMode.OPTIONAL,
        choices=LetterMode.choices,
        help_text=_("Whether the feedback step may, or must, send the final-response letter "
                    "built from the letter template."),
    )
    default_calendar = models.ForeignKey(
        "cases.WorkCalendar", verbose_name=_("default working calendar"), null=True,
        blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("desk settings")
        verbose_name_plural = _("desk settings")

    def __str__(self) -> str:
        return str(_("Desk settings"))

    @classmethod
    def get(cls) -> DeskSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class RootCause(models.Model):
    """Root-cause taxonomy, tagged at resolution and counted in reports."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")

    def __str__(self) -> str:
        return self.name
