"""Supervision state of every running clock, and staff alerts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import Basis, Clock, SlaState


class CaseDeadline(models.Model):
    """One running (or stopped) clock of a case. The case keeps the due and stop times as facts
    (for KPIs); this row carries the supervision state that the sweeps move on_time -> at_risk ->
    breached, selected by the partial indexes below so a sweep costs what is due, not all cases.
    """

    # The sweep rewrites ``state`` on thousands of rows per run and each such update writes an
    # entry into every index of this table: no index beyond what a query needs. ``case`` is
    # served by ``deadline_case_idx`` (case, clock); ``request`` by a partial index (only
    # department deadlines have one).
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    clock = models.CharField(_("deadline"), max_length=12, choices=Clock.choices)
    request = models.ForeignKey(
        "cases.CollaborationRequest", null=True, blank=True, on_delete=models.CASCADE,
        related_name="deadlines", db_index=False,
    )
    started_at = models.DateTimeField(_("started"))
    risk_at = models.DateTimeField(_("at risk from"))
    due_at = models.DateTimeField(_("due"))
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME
    )
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    # Set while a pause with a lawful reason stops this clock (cases.services.pauses): the
    # sweeps skip the row (both partial indexes leave it out) and on resume its risk and due
    # times move by the paused time in the clock's basis.
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    # What the clock counts (fixed when it starts): elapsed time or a calendar's working time.
    basis = models.CharField(_("counts"), max_length=8, choices=Basis.choices,
                             default=Basis.ELAPSED)
    calendar = models.ForeignKey(
        "cases.WorkCalendar", verbose_name=_("calendar"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", db_index=False,
    )

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        indexes = [
            models.Index(
                fields=["risk_at"], name="deadline_risk_open_idx",
                condition=Q(stopped_at__isnull=True, paused_at__isnull=True,
                            state=SlaState.ON_TIME),
            ),
            models.Index(
                fields=["due_at"], name="deadline_due_open_idx",
                condition=Q(stopped_at__isnull=True, paused_at__isnull=True)
                & ~Q(state=SlaState.BREACHED),
            ),
            models.Index(fields=["case", "clock"], name="deadline_case_idx"),
            models.Index(fields=["request"], name="deadline_request_idx",
                         condition=Q(request__isnull=False)),
            # The statutory supervision queues (cases.selectors.queues): running statutory
            # clocks by due time, breached or not. Few rows: only regulated cases have them.
            models.Index(fields=["due_at", "risk_at"], name="deadline_statutory_open_idx",
                         condition=Q(stopped_at__isnull=True,
                                     clock__in=["statutory", "acceptance"])),
        ]

    def __str__(self) -> str:
        return f"{self.get_clock_display()} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


class Alert(models.Model):
    """An in-app alert for a staff member (deadline at risk or breached, approvals, ...)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    deadline = models.ForeignKey(
        CaseDeadline, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(_("kind"), max_length=30)
    message = models.CharField(_("message"), max_length=300)
    # Where the alert points inside the page (e.g. the note a mention is in): a relative URL
    # with its anchor; empty: the case's page.
    link = models.CharField(_("link"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["recipient", "read_at"], name="alert_recipient_idx")]
        constraints = [
            # Once per deadline state change per person: the sweep can run twice safely.
            models.UniqueConstraint(
                fields=["recipient", "deadline", "kind"], name="alert_once_per_state",
                condition=Q(deadline__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.message
