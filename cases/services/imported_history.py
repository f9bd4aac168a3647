"""Cases that arrive with their history from a legacy system (``IntakeData.history``).

A legacy export says what happened to a complaint and when. Such a case is created directly
in the stage the export gives (received, in progress, resolved, closed or invalid), with:

* its transitions dated when they happened and marked ``imported`` (never "now");
* its clocks timed from the real receipt: due at the export's own due time (solution) or the
  tier's policy, stopped at the real first response, resolution and closing, so a clock that
  stopped late is a breach fact and counts in the KPIs of its own period;
* still-running clocks (an open case) from their real start: a deadline already past is shown
  on the desk (``sla_state``) and marked breached at import, so the deadline sweep never
  alerts it; the supervisors get one summary alert per import run
  (``imported_breaches_alert``) instead of one per case;
* no acknowledgement, no customer notice, no per-case alert.

Pure builders (no query) are called by ``intake._create`` inside its transaction; the only
extra write per case is an imported compensation, when the export has an amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.choices import Clock, CompensationKind, CompensationStatus, Role, SlaState, Stage
from cases.models import Alert, Case, CaseDeadline, CaseTransition, Compensation, SlaPolicy, User
from cases.services import clocks

# The stages a legacy export can put a case in.
IMPORTED_STAGES = (Stage.RECEIVED, Stage.IN_PROGRESS, Stage.RESOLVED, Stage.CLOSED,
                   Stage.INVALID)
ALERT_IMPORTED_PAST_DUE = "imported_past_due"


@dataclass
class ImportedHistory:
    """What a legacy system knew of a complaint beyond the complaint itself. Times are aware.
    Missing facts implied by the stage are filled in by ``complete_history``: a closed case
    was resolved when it was closed. An unknown first-response time stays unknown: a case
    resolved without one gets no first-response clock, so it is neither on time nor late in
    that KPI (unknown is not late)."""

    stage: str = Stage.RECEIVED
    tier: int | None = None
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    resolution: str = ""
    satisfaction: int | None = None
    compensation_amount: Decimal | None = None
    department_id: int | None = None
    company: str = ""


def derived_stage(*, first_responded_at: datetime | None, resolved_at: datetime | None,
                  closed_at: datetime | None) -> str:
    """The stage an export without a status column implies by the times it has."""
    if closed_at is not None:
        return Stage.CLOSED
    if resolved_at is not None:
        return Stage.RESOLVED
    if first_responded_at is not None:
        return Stage.IN_PROGRESS
    return Stage.RECEIVED


def complete_history(history: ImportedHistory) -> None:
    """Fill in the fact the stage implies (in place): a closed case without a resolution
    time was resolved when it was closed."""
    if history.stage == Stage.CLOSED and history.resolved_at is None:
        history.resolved_at = history.closed_at


def history_errors(history: ImportedHistory, received_at: datetime | None,
                   ) -> list[tuple[str, str]]:
    """[(field, message)] of a history that cannot be true (no query)."""
    errors: list[tuple[str, str]] = []
    stage = history.stage
    if received_at is None:
        errors.append(("received_at", _("An imported case with its history needs the time it "
                                        "was received.")))
    if stage not in IMPORTED_STAGES:
        errors.append(("stage", _("Unknown stage %(value)r: use one of %(valid)s.") % {
            "value": stage, "valid": ", ".join(IMPORTED_STAGES)}))
        return errors
    if history.tier is not None and history.tier not in (1, 2, 3):
        errors.append(("tier", _("Tier %(value)r is not 1, 2 or 3.") % {"value": history.tier}))
    if history.satisfaction is not None:
        if not 1 <= history.satisfaction <= 5:
            errors.append(("satisfaction", _("Satisfaction %(value)r is not a score from 1 to "
                                             "5.") % {"value": history.satisfaction}))
        elif stage != Stage.CLOSED:
            errors.append(("satisfaction", _("A satisfaction score belongs to a closed case, "
                                             "not to one in stage %(stage)s.") % {"stage": stage}))
    if history.compensation_amount is not None and history.compensation_amount < 0:
        errors.append(("compensation_amount", _("A compensation amount cannot be negative.")))
    needs = {Stage.CLOSED: ("closed_at",), Stage.RESOLVED: ("resolved_at",)}.get(stage, ())
    for name in needs:
        if getattr(history, name) is None and not (name == "closed_at" and history.resolved_at):
            errors.append((name, _(
                "A case in stage %(stage)s needs %(field)s: map the column that holds it (a "
                "list of rules can fall back on another column), or map the status to another "
                "stage.") % {"stage": stage, "field": name}))
    later = {Stage.RECEIVED: ("resolved_at", "closed_at"),
             Stage.IN_PROGRESS: ("resolved_at", "closed_at"),
             Stage.RESOLVED: ("closed_at",)}.get(stage, ())
    for name in later:
        if getattr(history, name) is not None:
            errors.append((name, _("A case in stage %(stage)s has no %(field)s yet: map the "
                                   "status to the stage that time belongs to.") % {
                "stage": stage, "field": name}))
    errors += _order_errors(history, received_at)
    return errors


def _order_errors(history: ImportedHistory, received_at: datetime | None,
                  ) -> list[tuple[str, str]]:
    """Each time is not in the future (a due time may be) and not before the one it
    follows: receipt, then first response and resolution, then closing."""
    errors = []
    latest = timezone.now() + timedelta(minutes=5)
    follows = {"first_responded_at": "received_at", "resolved_at": "received_at",
               "closed_at": "resolved_at", "due_at": "received_at"}
    times = {"received_at": received_at, "first_responded_at": history.first_responded_at,
             "resolved_at": history.resolved_at, "closed_at": history.closed_at,
             "due_at": history.due_at}
    for name, earlier in follows.items():
        value, then = times[name], times[earlier]
        if then is None:
            earlier, then = "received_at", received_at
        if value is None:
            continue
        if value > latest and name != "due_at":
            errors.append((name, _("%(field)s %(value)s is in the future.") % {
                "field": name, "value": value.isoformat()}))
        elif then is not None and value < then:
            errors.append((name, _("%(field)s %(value)s is before %(earlier)s %(then)s.") % {
                "field": name, "value": value.isoformat(), "earlier": earlier,
                "then": then.isoformat()}))
    return errors


def imported_case_fields(history: ImportedHistory, suggested_tier: int) -> dict[str, object]:
    """Keyword arguments of the new ``Case`` (stage and tier are protected: they can only be
    given when the case is built). A received case is not triaged yet: the export's tier is
    its suggested tier."""
    stage = history.stage
    fields: dict[str, object] = {
        "stage": stage, "department_id": history.department_id, "company": history.company,
        "closed_at": history.closed_at if stage == Stage.CLOSED else None,
    }
    if stage == Stage.RECEIVED:
        fields["suggested_tier"] = history.tier or suggested_tier
    else:
        fields["tier"] = history.tier or suggested_tier
    if stage == Stage.INVALID:
        fields["closing_reason"] = history.resolution or _("Invalid in the legacy system.")
        fields["closed_at"] = history.closed_at
    else:
        fields["solution"] = history.resolution
    if history.satisfaction is not None:
        fields.update(satisfaction_score=history.satisfaction,
                      satisfied=history.satisfaction >= 4, revisit_done_at=history.closed_at)
    return fields


def history_clocks(case: Case, history: ImportedHistory, policy: SlaPolicy,
                   now: datetime) -> list[CaseDeadline]:
    """The case's clocks from its real times (unsaved rows, no query): started at receipt,
    stopped at the real first response and resolution (late: a breach fact), still running
    for an open case. Running clocks already at risk or past due are marked so at import,
    so the deadline sweep alerts none of them; the case shows its live state."""
    received = case.received_at
    # An invalid case stopped every clock when it was closed (or received).
    end = (history.closed_at or received) if history.stage == Stage.INVALID else None
    plan: list[tuple[str, datetime, datetime | None, datetime | None]] = []
    if history.stage == Stage.RECEIVED:
        plan.append((Clock.ASSIGN, received, None, end))
    if history.first_responded_at is not None or history.stage in (Stage.RECEIVED,
                                                                   Stage.IN_PROGRESS):
        # A case past its answer with no answer time recorded: not measured (not late).
        plan.append((Clock.RESPONSE, received, None, history.first_responded_at or end))
    plan.append((Clock.SOLUTION, received, history.due_at, history.resolved_at or end))
    if history.stage == Stage.RESOLVED and history.resolved_at is not None:
        plan.append((Clock.FEEDBACK, history.resolved_at, None, None))
    rows = []
    for clock, start, due, stop in plan:
        window = clocks.clock_window(policy, clock, start, due)
        rows.append(clocks.new_clock_row(case, clock, start, window, stop))
    running = [r for r in rows if r.stopped_at is None]
    for row in running:
        row.state = clocks.live_state(row, now)
        if row.state == SlaState.BREACHED:
            row.breached_at = row.due_at
            if row.clock == Clock.RESPONSE:
                case.response_breached = True
    clocks.apply_sla(case, running, now)
    return rows


def past_due_on_arrival(history: ImportedHistory, *, received_at: datetime,
                        suggested_tier: int, policy: SlaPolicy, now: datetime) -> bool:
    """Whether the case would arrive with a running clock already past due (a dry run's
    count of the summary alert; no query: the case and its clocks are built in memory)."""
    case = Case(received_at=received_at, **{"suggested_tier": suggested_tier,
                                             **imported_case_fields(history, suggested_tier)})
    history_clocks(case, history, policy, now)
    return case.sla_state == SlaState.BREACHED


def history_transitions(case: Case, history: ImportedHistory, actor: User | None,
                        channel_label: str) -> list[CaseTransition]:
    """The stage path the case took, dated when it happened and marked imported (unsaved)."""
    received = case.received_at
    steps: list[tuple[str, str, str, str, datetime]] = [
        ("stage", "receive", "", Stage.RECEIVED, received)]
    if case.tier:
        steps.append(("tier", "confirm_tier", "0", str(case.tier), received))
    started = history.stage == Stage.IN_PROGRESS or history.first_responded_at is not None
    if started and history.stage != Stage.INVALID:
        # Taken up when first answered (an in-progress case with no answer time: on receipt).
        steps.append(("stage", "start", Stage.RECEIVED, Stage.IN_PROGRESS,
                      history.first_responded_at or received))
    if history.stage in (Stage.RESOLVED, Stage.CLOSED) and history.resolved_at:
        steps.append(("stage", "resolve", Stage.IN_PROGRESS if started else Stage.RECEIVED,
                      Stage.RESOLVED, history.resolved_at))
    if history.stage == Stage.CLOSED and history.closed_at:
        steps.append(("stage", "close", Stage.RESOLVED, Stage.CLOSED, history.closed_at))
    if history.stage == Stage.INVALID:
        steps.append(("stage", "invalidate", Stage.RECEIVED, Stage.INVALID,
                      history.closed_at or received))
    return [
        CaseTransition(case=case, field=field, name=name, source=source, target=target,
                       actor=actor, at=at, imported=True,
                       note=channel_label if name == "receive" else "")
        for field, name, source, target, at in steps
    ]


def imported_compensation(case: Case, history: ImportedHistory) -> Compensation | None:
    """The compensation the legacy system paid, as an approved one (unsaved)."""
    if not history.compensation_amount:
        return None
    at = history.resolved_at or history.closed_at or case.received_at
    return Compensation(case=case, kind=CompensationKind.OTHER,
                        amount=history.compensation_amount, status=CompensationStatus.APPROVED,
                        description=_("Paid in the legacy system."), created_at=at,
                        decided_at=at)


def imported_breaches_alert(*, past_due: int, now: datetime | None = None) -> int:
    """One alert to each active supervisor for an import run whose ``past_due`` open cases
    were already past a deadline when they arrived (instead of one alert per case, which
    the import does not raise and the sweep no longer will). Returns the alerts created."""
    if past_due <= 0:
        return 0
    now = now or timezone.now()
    alerts = []
    for user in User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR).distinct():
        with translation.override(user.language or settings.LANGUAGE_CODE):
            message = ngettext(
                "%(count)d imported open case was already past its deadline when it arrived: "
                "see the desk's breached cases.",
                "%(count)d imported open cases were already past their deadlines when they "
                "arrived: see the desk's breached cases.", past_due) % {"count": past_due}
        alerts.append(Alert(recipient=user, kind=ALERT_IMPORTED_PAST_DUE,
                            message=message[:300], created_at=now))
    Alert.objects.bulk_create(alerts)
    return len(alerts)
