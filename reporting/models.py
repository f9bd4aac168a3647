"""Reporting models: KPI targets, weekly review snapshots and improvement actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.choices import MAX_FREE_TEXT
from reporting.choices import Direction
from reporting.kpis.definitions import KPI_BY_CODE


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
    # Capped in forms only (a TextField's max_length makes no database constraint).
    action = models.TextField(_("action"), max_length=MAX_FREE_TEXT)
    owner = models.ForeignKey(
        # Who carries the action out (责任人), not a case's first-contact owner (首问负责人).
        settings.AUTH_USER_MODEL, verbose_name=pgettext_lazy("improvement action", "owner"),
        on_delete=models.PROTECT, related_name="improvement_actions",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    progress_note = models.TextField(_("follow-up note"), blank=True, max_length=MAX_FREE_TEXT)
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


# --- the dashboard's read model (reporting.summaries keeps it; nothing else writes it) ---------
class KpiDaySum(models.Model):
    """The KPI counts of one local day for one value of one breakdown dimension (``dim``
    tier, channel, category or department; ``key`` the value, "" for no department). Each
    KPI's numerator and denominator are filed under the day of the KPI's own anchor time, so
    any period made of whole days is a sum of rows; the totals are the sum of the tier rows.
    Collaboration requests count under their own department and their case's tier, channel
    and category, as in the live breakdowns. ``handling_cycle_num`` and ``paused_time_num``
    are in microseconds."""

    day = models.DateField()
    dim = models.CharField(max_length=12)
    key = models.CharField(max_length=40, blank=True)
    received = models.BigIntegerField(default=0)
    first_response_num = models.BigIntegerField(default=0)
    first_response_den = models.BigIntegerField(default=0)
    handling_complete_num = models.BigIntegerField(default=0)
    handling_complete_den = models.BigIntegerField(default=0)
    satisfaction_num = models.BigIntegerField(default=0)
    satisfaction_den = models.BigIntegerField(default=0)
    feedback_on_time_num = models.BigIntegerField(default=0)
    feedback_on_time_den = models.BigIntegerField(default=0)
    revisit_done_num = models.BigIntegerField(default=0)
    revisit_done_den = models.BigIntegerField(default=0)
    tier_accuracy_num = models.BigIntegerField(default=0)
    tier_accuracy_den = models.BigIntegerField(default=0)
    late_handling_num = models.BigIntegerField(default=0)
    late_handling_den = models.BigIntegerField(default=0)
    slow_response_escalation_num = models.BigIntegerField(default=0)
    slow_response_escalation_den = models.BigIntegerField(default=0)
    key_customer_recovery_num = models.BigIntegerField(default=0)
    key_customer_recovery_den = models.BigIntegerField(default=0)
    review_rate_num = models.BigIntegerField(default=0)
    review_rate_den = models.BigIntegerField(default=0)
    review_changed_num = models.BigIntegerField(default=0)
    review_changed_den = models.BigIntegerField(default=0)
    review_on_time_num = models.BigIntegerField(default=0)
    review_on_time_den = models.BigIntegerField(default=0)
    handling_cycle_num = models.BigIntegerField(default=0)
    handling_cycle_den = models.BigIntegerField(default=0)
    paused_time_num = models.BigIntegerField(default=0)
    paused_time_den = models.BigIntegerField(default=0)
    requests = models.BigIntegerField(default=0)
    department_response_num = models.BigIntegerField(default=0)
    department_response_den = models.BigIntegerField(default=0)
    statutory_on_time_num = models.BigIntegerField(default=0)
    statutory_on_time_den = models.BigIntegerField(default=0)
    extensions_approved_num = models.BigIntegerField(default=0)
    extensions_approved_den = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "dim", "key"], name="kpi_day_sum_unique"),
        ]
        indexes = [models.Index(fields=["dim", "day"], name="kpi_day_sum_dim_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.dim}={self.key}"


class RootCauseDaySum(models.Model):
    """Cases resolved on one local day with one root cause in one category."""

    day = models.DateField()
    root_cause_id = models.BigIntegerField()
    category = models.CharField(max_length=30)
    cases = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "root_cause_id", "category"],
                                    name="root_cause_day_sum_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.root_cause_id}/{self.category}"


class CaseKpiFact(models.Model):
    """What one case and its collaboration requests currently add to the day sums
    (``data``), so that a change can be applied as the difference. ``case_id`` is no
    foreign key: the row outlives a deleted case until the refresh takes its counts back
    out. ``next_flip_at`` is the earliest due time of a clock (or a request) still running
    when the fact was computed: from then on the case counts differently (its outcome
    becomes known), so it is computed again."""

    case_id = models.BigIntegerField(primary_key=True)
    data = models.JSONField(default=dict)
    next_flip_at = models.DateTimeField(null=True, blank=True, db_index=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"case {self.case_id}"


class KpiQueue(models.Model):
    """Cases whose KPI facts may have changed (the case, its customer's key flag, one of its
    collaboration requests or tier log entries), written by database triggers on the cases
    tables in the same transaction as the change (``reporting.summaries.triggers``)."""

    id = models.BigAutoField(primary_key=True)
    case_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"case {self.case_id}"


class KpiSummaryState(models.Model):
    """One row: when the day sums were last brought up to date, and in which time zone and
    definition version they were built (a change of either rebuilds them)."""

    as_of = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"KPI summaries as of {self.as_of}"
