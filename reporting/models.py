"""Reporting models: KPI targets, weekly review snapshots and improvement actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    AT_LEAST = "at_least", _("at least")
    AT_MOST = "at_most", _("at most")
    FALLING = "falling", _("falling period over period")


class KpiTarget(models.Model):
    """The target of one KPI (``reporting.kpis.KPIS`` defines the KPI itself). Seeded with
    SPEC's targets by a data migration; admins change ``target`` in the Django admin. The
    direction belongs to the KPI's definition and is shown, not edited."""

    code = models.CharField(_("KPI"), max_length=40, unique=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    target = models.DecimalField(
        _("target (%)"), max_digits=6, decimal_places=2, null=True, blank=True,
        help_text=_("Percent. Empty for KPIs whose target is to fall period over period."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")

    def __str__(self) -> str:
        from reporting.kpis import KPI_BY_CODE

        kpi = KPI_BY_CODE.get(self.code)
        return str(kpi.label) if kpi else self.code


class WeeklyReview(models.Model):
    """The weekly review 每周复盘 of one week (Monday 00:00 to Monday 00:00, local time),
    frozen as a JSON snapshot when built so later edits to cases do not rewrite history."""

    week_start = models.DateField(_("week starting"), unique=True)
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("until"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    built_at = models.DateTimeField(_("built"))
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("built by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("Empty: built by the Monday task."),
    )
    data = models.JSONField(_("snapshot"), default=dict)

    class Meta:
        ordering = ["-week_start"]
        verbose_name = _("weekly review")
        verbose_name_plural = _("weekly reviews")

    def __str__(self) -> str:
        return str(_("Weekly review of %(week)s") % {"week": self.week_start.isoformat()})


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ImprovementAction(models.Model):
    """An improvement action agreed in a weekly review, followed up until done."""

    review = models.ForeignKey(
        WeeklyReview, verbose_name=_("weekly review"), on_delete=models.PROTECT,
        related_name="actions",
    )
    action = models.TextField(_("action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
        related_name="improvement_actions",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    progress_note = models.TextField(_("follow-up note"), blank=True)
    cases = models.ManyToManyField(
        "cases.Case", verbose_name=_("linked cases"), blank=True,
        related_name="improvement_actions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        indexes = [models.Index(fields=["status", "due_date"], name="action_status_due_idx")]

    def __str__(self) -> str:
        return self.action[:60]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES
