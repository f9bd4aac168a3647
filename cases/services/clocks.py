"""Deadline clocks. Each clock's due time and stop time are facts on the case (read by the
KPIs); the matching CaseDeadline row carries the supervision state moved by the sweeps."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from django.utils import timezone

from cases import worktime
from cases.audit.capture import record_bulk_changes
from cases.choices import STATUTORY_CLOCKS, Basis, Clock, SlaState, Tier
from cases.models import Case, CaseDeadline, SlaPolicy
from cases.services.pause_clocks import ended_pauses, reapply_pauses, thaw_row

logger = logging.getLogger(__name__)

# clock -> (due-time field, stop-time field) on Case.
# The progress clock has no stop fact: it restarts with every progress note.
CLOCK_FIELDS: dict[str, tuple[str, str | None]] = {
    Clock.ASSIGN: ("assign_due_at", "assigned_at"),
    Clock.RESPONSE: ("response_due_at", "first_responded_at"),
    Clock.SOLUTION: ("solution_due_at", "resolved_at"),
    Clock.PROGRESS: ("progress_due_at", None),
    Clock.FEEDBACK: ("feedback_due_at", "feedback_given_at"),
    Clock.REVISIT: ("revisit_due_at", "revisit_done_at"),
    Clock.FOLLOW_UP: ("follow_up_due_at", "follow_up_done_at"),
    Clock.REVIEW: ("review_due_at", "review_done_at"),
}

# The deadline fields that re-timing a clock changes.
RETIMED_FIELDS = ["risk_at", "due_at", "state", "basis", "calendar"]

_DEFAULT_MINUTES = {  # SPEC's numbers; used only if an admin deleted a policy row.
    Tier.URGENT: {"response": 60, "solution": 1440},
    Tier.IMPORTANT: {"response": 120, "solution": 2880},
    Tier.ROUTINE: {"response": 240, "solution": 4320},
}


def policy_tier(tier: int) -> int:
    """The tier whose policy times a case of ``tier`` (an unknown tier runs as routine)."""
    return tier if tier in (Tier.URGENT, Tier.IMPORTANT, Tier.ROUTINE) else Tier.ROUTINE


def default_policy(tier: int) -> SlaPolicy:
    """SPEC's policy for a tier (unsaved), for when an admin deleted its row."""
    tier = policy_tier(tier)
    defaults = _DEFAULT_MINUTES[Tier(tier)]
    return SlaPolicy(tier=tier, response_minutes=defaults["response"],
                     solution_minutes=defaults["solution"])


def policy_for(tier: int) -> SlaPolicy:
    """The SLA policy of a tier (an untriaged case runs on its suggested tier's policy)."""
    return SlaPolicy.objects.filter(tier=policy_tier(tier)).first() or default_policy(tier)


def effective_tier(case: Case) -> int:
    return case.tier if case.tier != Tier.UNTRIAGED else case.suggested_tier


# The revisit falls due 48 h after feedback (``Case.revisit_due_at``: the sweep opens it
# then); the supervision deadline gives the survey and the call one more day to get an answer.
REVISIT_ANSWER_WINDOW = timedelta(hours=24)


class Window(NamedTuple):
    """A clock's at-risk and due instants, and what it counts in."""

    risk_at: datetime
    due_at: datetime
    basis: str = Basis.ELAPSED
    calendar_id: int | None = None


def clock_basis(policy: SlaPolicy, clock: str, *,
                department_calendar_id: int | None = None) -> tuple[str, int | None]:
    """(basis, calendar id) of ``clock`` under ``policy``, from the cached configuration (no
    query). A working clock's calendar: the one chosen in the policy, else (department clock)
    the department's, else the desk default (None when there is none)."""
    from cases.services.desk_config import desk_config  # desk_config imports this module

    cached = getattr(policy, "cached_bases", None)  # a policy of the cached configuration
    basis, calendar_id = (cached.get(clock, (Basis.ELAPSED, None)) if cached is not None
                          else desk_config().clock_basis(policy.tier, clock))
    if basis != Basis.WORKING:
        return Basis.ELAPSED, None
    if calendar_id is None and clock == Clock.DEPARTMENT:
        calendar_id = department_calendar_id
    return basis, calendar_id or worktime.default_calendar_id()


def _window(policy: SlaPolicy, clock: str, start: datetime, *,
            department_calendar_id: int | None = None) -> Window:
    """The window of ``clock`` started at ``start``: allowed time and at-risk share counted in
    the clock's basis. A working clock whose calendar lacks the data for the span counts
    elapsed time instead, logged as an error (intake must not fail; the row says elapsed)."""
    minutes = policy.minutes_for(clock)
    ratio = float(policy.at_risk_ratio)
    extra = REVISIT_ANSWER_WINDOW if clock == Clock.REVISIT else timedelta(0)
    basis, calendar_id = clock_basis(policy, clock, department_calendar_id=department_calendar_id)
    if basis == Basis.WORKING:
        try:
            schedule = worktime.schedule_for(calendar_id)
            return Window(schedule.add_working_minutes(start, minutes * ratio),
                          schedule.add_working_minutes(start, minutes) + extra,
                          Basis.WORKING, calendar_id)
        except worktime.CalendarDataMissing as exc:
            logger.error("%s clock of tier %s counts elapsed time: %s", clock, policy.tier, exc)
    allowed = timedelta(minutes=minutes) + extra
    return Window(start + allowed * ratio, start + allowed)


def department_window(case: Case, department_calendar_id: int | None, start: datetime) -> Window:
    """The department clock's window: by the policy of the case's tier, in the department's
    calendar when the clock counts working time and the department has one."""
    return _window(policy_for(effective_tier(case)), Clock.DEPARTMENT, start,
                   department_calendar_id=department_calendar_id)


def start_clock(case: Case, clock: str, start: datetime, policy: SlaPolicy) -> CaseDeadline:
    """Start (or restart) a clock. A restarted clock that had breached keeps its breached row
    for the record and gets a fresh one; otherwise the open row is re-timed in place."""
    window = _window(policy, clock, start)
    risk_at, due_at = window.risk_at, window.due_at
    if clock == Clock.REVISIT:
        case.revisit_due_at = due_at - REVISIT_ANSWER_WINDOW
    elif clock in CLOCK_FIELDS:
        setattr(case, CLOCK_FIELDS[clock][0], due_at)
    open_row = (
        CaseDeadline.objects.filter(case=case, clock=clock, stopped_at__isnull=True)
        .order_by("-started_at")
        .first()
    )
    if open_row is not None and open_row.state != SlaState.BREACHED:
        open_row.started_at, open_row.risk_at, open_row.due_at = start, risk_at, due_at
        open_row.basis, open_row.calendar_id = window.basis, window.calendar_id
        open_row.state = SlaState.ON_TIME
        open_row.save(update_fields=["started_at", *RETIMED_FIELDS])
        return open_row
    if open_row is not None:
        open_row.stopped_at = start
        open_row.save(update_fields=["stopped_at"])
    return CaseDeadline.objects.create(
        case=case, clock=clock, started_at=start, risk_at=risk_at, due_at=due_at,
        basis=window.basis, calendar_id=window.calendar_id,
    )


def stop_clock(case: Case, clock: str, at: datetime) -> None:
    """Stop a clock. Stopping after the due time counts as a breach even if no sweep ran."""
    stop_field = CLOCK_FIELDS.get(clock, (None, None))[1]
    if stop_field is not None:
        setattr(case, stop_field, at)
    for row in CaseDeadline.objects.filter(case=case, clock=clock, stopped_at__isnull=True):
        row.stopped_at = at
        fields = ["stopped_at"]
        if row.paused_at is not None:  # stopped during a pause: judged on the moved due time
            thaw_row(row, at)
            fields += ["risk_at", "due_at", "paused_at"]
            if stop_field is not None and clock != Clock.REVISIT:
                setattr(case, CLOCK_FIELDS[clock][0], row.due_at)
        if at > row.due_at and row.state != SlaState.BREACHED:
            row.state, row.breached_at = SlaState.BREACHED, row.due_at
            fields += ["state", "breached_at"]
            case.ever_breached = True
            if clock == Clock.RESPONSE:
                case.response_breached = True
        row.save(update_fields=fields)


def stop_all_clocks(case: Case, at: datetime) -> None:
    CaseDeadline.objects.filter(case=case, stopped_at__isnull=True).update(stopped_at=at)


def _retime(case: Case, rows: list[CaseDeadline], policy: SlaPolicy) -> list[CaseDeadline]:
    """Give the case's running clocks (``rows``) the allowance of ``policy`` from their own
    start, moved again by the case's ended pauses that stopped them; already breached clocks
    and the department's stay as they are. Returns the rows changed (unsaved) and sets the
    case's due-time fields."""
    changed = []
    ended = ended_pauses(case)  # no query for a case never paused
    for row in rows:
        if row.clock == Clock.DEPARTMENT or row.clock in STATUTORY_CLOCKS or (
                row.state == SlaState.BREACHED):
            continue
        row.risk_at, row.due_at, row.basis, row.calendar_id = _window(
            policy, row.clock, row.started_at)
        reapply_pauses(row, ended)
        row.state = SlaState.ON_TIME
        changed.append(row)
        if row.clock in CLOCK_FIELDS and row.clock != Clock.REVISIT:
            setattr(case, CLOCK_FIELDS[row.clock][0], row.due_at)
    return changed


def retime_open_clocks(case: Case) -> None:
    """After a tier change: every running clock keeps its start and gets the new tier's
    allowance (already breached clocks stay breached)."""
    rows = list(CaseDeadline.objects.filter(case=case, stopped_at__isnull=True))
    for row in _retime(case, rows, policy_for(effective_tier(case))):
        row.save(update_fields=RETIMED_FIELDS)


# The case fields that re-timing its clocks changes.
RETIMED_CASE_FIELDS = ["assign_due_at", "response_due_at", "solution_due_at", "next_due_at",
                       "next_risk_at", "next_due_calendar", "sla_state", "ever_breached"]


def retime_and_save_many(cases: list[Case], now: datetime | None = None,
                         policies: dict[int, SlaPolicy] | None = None) -> None:
    """``retime_open_clocks`` + ``refresh_case_sla`` + save for several cases at once (a new
    group complaint pulls its members onto tighter clocks): one read of their running clocks,
    one UPDATE of the clocks and one of the cases, whatever their number. ``policies``: the
    SLA policies by tier, when the caller read them already."""
    if not cases:
        return
    now = now or timezone.now()
    running: dict[int, list[CaseDeadline]] = {case.pk: [] for case in cases}
    for row in CaseDeadline.objects.filter(case_id__in=list(running), stopped_at__isnull=True):
        running[row.case_id].append(row)
    policies = dict(policies or {})
    changed: list[CaseDeadline] = []
    for case in cases:
        tier = effective_tier(case)
        if tier not in policies:
            policies[tier] = policy_for(tier)
        changed += _retime(case, running[case.pk], policies[tier])
        apply_sla(case, running[case.pk], now)
    if changed:
        CaseDeadline.objects.bulk_update(changed, RETIMED_FIELDS)
    Case.objects.bulk_update(cases, RETIMED_CASE_FIELDS)
    record_bulk_changes(cases, RETIMED_CASE_FIELDS)


def live_state(row: CaseDeadline, now: datetime) -> str:
    if row.state == SlaState.BREACHED or now >= row.due_at:
        return SlaState.BREACHED
    if now >= row.risk_at:
        return SlaState.AT_RISK
    return SlaState.ON_TIME


_SEVERITY = {SlaState.ON_TIME: 0, SlaState.AT_RISK: 1, SlaState.BREACHED: 2}


def refresh_case_sla(case: Case, now: datetime | None = None) -> None:
    """Recompute the case's denormalised nearest due time and worst deadline state."""
    rows = list(CaseDeadline.objects.filter(case=case, stopped_at__isnull=True))
    apply_sla(case, rows, now or timezone.now())


def start_new_case_clocks(
    case: Case, clocks: list[str], start: datetime, policy: SlaPolicy, *,
    stopped: dict[str, datetime] | None = None, now: datetime | None = None,
) -> list[CaseDeadline]:
    """The clocks of a case that is being created, built in memory (no query): sets the due
    and stop facts and the denormalised SLA fields on ``case``, and returns unsaved rows that
    the caller bulk-inserts once the case has its id. Same rules as ``start_clock`` +
    ``stop_clock`` + ``refresh_case_sla`` on an empty case."""
    rows = []
    for clock in clocks:
        window = _window(policy, clock, start)
        rows.append(new_clock_row(case, clock, start, window, (stopped or {}).get(clock)))
    apply_sla(case, [r for r in rows if r.stopped_at is None], now or timezone.now())
    return rows


def clock_window(policy: SlaPolicy, clock: str, start: datetime,
                 due_at: datetime | None = None) -> Window:
    """The window of a clock started at ``start``: the policy's allowance in the clock's basis,
    or a given ``due_at`` (a legacy system's own deadline, elapsed) with the policy's at-risk
    share of it."""
    if due_at is None:
        return _window(policy, clock, start)
    return Window(start + (due_at - start) * float(policy.at_risk_ratio), due_at)


def new_clock_row(case: Case, clock: str, start: datetime, window: Window,
                  stop_at: datetime | None) -> CaseDeadline:
    """An unsaved clock row of a case being created: sets the due fact and, when it stopped
    (``stop_at``), the stop fact and the breach facts of a late stop on ``case``."""
    if clock in CLOCK_FIELDS:
        setattr(case, CLOCK_FIELDS[clock][0], window.due_at)
    row = CaseDeadline(clock=clock, started_at=start, risk_at=window.risk_at,
                       due_at=window.due_at, basis=window.basis, calendar_id=window.calendar_id)
    if stop_at is not None:
        stop_field = CLOCK_FIELDS.get(clock, (None, None))[1]
        if stop_field is not None:
            setattr(case, stop_field, stop_at)
        row.stopped_at = stop_at
        if stop_at > row.due_at:
            row.state, row.breached_at = SlaState.BREACHED, row.due_at
            case.ever_breached = True
            if clock == Clock.RESPONSE:
                case.response_breached = True
    return row


def apply_sla(case: Case, rows: list[CaseDeadline], now: datetime) -> None:
    """Set the case's nearest due time (and its calendar) and worst live state from its
    running ``rows`` (a paused clock is not running)."""
    rows = [r for r in rows if r.paused_at is None]
    nearest = min(rows, key=lambda r: r.due_at, default=None)
    case.next_due_at = nearest.due_at if nearest is not None else None
    case.next_due_calendar_id = (nearest.calendar_id if nearest is not None
                                 and nearest.basis == Basis.WORKING else None)
    case.next_risk_at = min((r.risk_at for r in rows), default=None)
    states = [live_state(r, now) for r in rows]
    case.sla_state = max(states, key=_SEVERITY.__getitem__, default=SlaState.ON_TIME)
    if SlaState.BREACHED in states:
        case.ever_breached = True
