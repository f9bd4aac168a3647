"""Pauses with lawful reasons: a case's clocks stop while the desk waits on something the law
lets it wait for (the complainant's materials, a third-party appraisal, another authority)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases.choices import Clock


class PauseEnd(models.TextChoices):
    HANDLER = "handler", _("Resumed by staff")
    CUSTOMER = "customer", _("Customer answered")
    MAXIMUM = "maximum", _("Maximum length reached")
    CASE_DONE = "case_done", _("Case resolved or closed")


# The department's answer to a collaboration request runs on its own request and is not
# stopped by a wait on the complainant: every other clock may be.
PAUSABLE_CLOCKS = [c for c in Clock.values if c != Clock.DEPARTMENT]


def validate_clocks(value: object) -> None:
    """A list of Clock values, at least one, no repeats."""
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one clock the pause stops."))
    unknown = [v for v in value if v not in PAUSABLE_CLOCKS]
    if unknown or len(set(value)) != len(value):
        raise ValidationError(_("Unknown or repeated clock: %(clocks)s.")
                              % {"clocks": ", ".join(map(str, unknown or value))})


class PauseReason(models.Model):
    """An admin-defined lawful reason to stop a case's clocks.

    ``max_days`` is the longest the clocks may stay stopped for this reason on one case, all
    its pauses for the reason added up, counted in calendar days (elapsed time: 24 h a day,
    weekends and holidays included), which is how the regulations count a suspension.
    ``clocks`` lists the Clock values it stops (a JSON list, so it works on SQLite and
    PostgreSQL alike)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    max_days = models.PositiveSmallIntegerField(
        _("maximum total (calendar days)"),
        help_text=_("All pauses of a case for this reason together, in elapsed calendar days; "
                    "when reached the case resumes by itself."),
    )
    clocks = models.JSONField(_("clocks it stops"), default=list, validators=[validate_clocks])
    requires_evidence = models.BooleanField(_("requires evidence (an attachment)"),
                                            default=False)
    resumes_on_customer_reply = models.BooleanField(
        _("resumes when the customer answers"), default=False,
        help_text=_("For reasons that wait on the complainant: their next message ends the "
                    "pause."),
    )
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("pause reason")
        verbose_name_plural = _("pause reasons")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the active language (Chinese unless English is active)."""
        language = (get_language() or "zh-hans").lower()
        return self.name_en if language.startswith("en") and self.name_en else self.name

    @property
    def max_total(self) -> timedelta:
        return timedelta(days=self.max_days)

    def clock_labels(self) -> list[str]:
        return [str(Clock(c).label) for c in self.clocks if c in Clock.values]


class CasePause(models.Model):
    """One pause of a case: why, who, from when to when, and how it ended. ``clocks`` is the
    set the reason stopped when the pause began (a later edit of the reason does not change
    a running pause). ``resume_by`` is when the reason's maximum is reached: the
    pause-maximum sweep resumes open pauses whose ``resume_by`` has passed, through a
    partial index of open pauses only."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="pauses")
    reason = models.ForeignKey(PauseReason, verbose_name=_("reason"), on_delete=models.PROTECT,
                               related_name="pauses")
    note = models.TextField(_("note"))
    evidence = models.ForeignKey(
        "cases.CaseAttachment", verbose_name=_("evidence"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    clocks = models.JSONField(_("clocks stopped"), default=list)
    started_at = models.DateTimeField(_("paused at"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("paused by"), on_delete=models.PROTECT,
        related_name="+",
    )
    resume_by = models.DateTimeField(_("resumes by itself at"))
    ended_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resumed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    ended_how = models.CharField(_("how it ended"), max_length=10, choices=PauseEnd.choices,
                                 blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        indexes = [
            models.Index(fields=["case", "started_at"], name="pause_case_idx"),
            models.Index(fields=["resume_by"], name="pause_open_resume_idx",
                         condition=Q(ended_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(ended_at__isnull=True),
                                    name="pause_one_open_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.reason_id} from {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def length(self, now) -> timedelta:  # noqa: ANN001
        return (self.ended_at or now) - self.started_at
