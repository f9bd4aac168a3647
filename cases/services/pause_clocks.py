"""Freezing and thawing a case's clocks for a pause. A frozen clock (``CaseDeadline.paused_at``
set) is invisible to the deadline sweeps; thawing moves its risk and due times later by the
paused time in the clock's own basis (``shift_for_pause`` of the working-time engine)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from cases.choices import Clock, SlaState
from cases.models import Case, CaseDeadline, CasePause
from cases.worktime import CalendarDataMissing, shift_for_pause

logger = logging.getLogger(__name__)


def shift_due(row: CaseDeadline, due: datetime, paused_from: datetime,
              paused_to: datetime) -> datetime:
    """``due`` of ``row``'s clock moved later by the pause ``[paused_from, paused_to)``
    counted in the clock's basis (working time: only the working minutes inside the pause,
    on the clock's calendar). A calendar without the data for the span moves it by the
    elapsed time instead, logged as an error: resuming a case must not fail."""
    try:
        return shift_for_pause(due, paused_from, paused_to, basis=row.basis,
                               calendar=row.calendar_id)
    except CalendarDataMissing as exc:
        logger.error("pause of case %s moves its %s clock by elapsed time: %s", row.case_id,
                     row.clock, exc)
        return due + (paused_to - paused_from)


def ended_pauses(case: Case) -> list[CasePause]:
    """The case's ended pauses, oldest first; no query for a case never paused."""
    if not case.paused_total:
        return []
    return list(CasePause.objects.filter(case=case, ended_at__isnull=False)
                .order_by("started_at"))


def reapply_pauses(row: CaseDeadline, pauses: list[CasePause]) -> None:
    """Move a freshly re-timed row (unsaved) by the ended pauses that stopped its clock since
    it started, as they did when they ended."""
    for pause in pauses:
        if row.clock not in pause.clocks or pause.ended_at <= row.started_at:
            continue
        start = max(pause.started_at, row.started_at)
        row.risk_at = shift_due(row, row.risk_at, start, pause.ended_at)
        row.due_at = shift_due(row, row.due_at, start, pause.ended_at)


def freeze(case: Case, clocks: Iterable[str], at: datetime) -> int:
    """Stop the running, not yet breached clocks of ``case`` named in ``clocks`` at ``at``.
    A clock already past its due time stays as it is: a pause does not undo a breach."""
    return (
        CaseDeadline.objects.filter(case=case, clock__in=list(clocks), stopped_at__isnull=True,
                                    paused_at__isnull=True, due_at__gt=at)
        .exclude(state=SlaState.BREACHED)
        .update(paused_at=at)
    )


def thaw_row(row: CaseDeadline, until: datetime) -> None:
    """Move a frozen row's risk and due times by the time it was frozen up to ``until`` and
    unfreeze it (unsaved)."""
    if row.paused_at is None:
        return
    start = row.paused_at
    if until > start:
        row.risk_at = shift_due(row, row.risk_at, start, until)
        row.due_at = shift_due(row, row.due_at, start, until)
    row.paused_at = None


def thaw(case: Case, until: datetime) -> list[CaseDeadline]:
    """Unfreeze every frozen running clock of ``case`` (saved); returns the rows."""
    from cases.services.clocks import CLOCK_FIELDS

    rows = list(CaseDeadline.objects.filter(case=case, stopped_at__isnull=True,
                                            paused_at__isnull=False))
    for row in rows:
        thaw_row(row, until)
        if row.clock in CLOCK_FIELDS and row.clock != Clock.REVISIT:
            setattr(case, CLOCK_FIELDS[row.clock][0], row.due_at)
    if rows:
        CaseDeadline.objects.bulk_update(rows, ["risk_at", "due_at", "paused_at"])
    return rows


__all__ = ["ended_pauses", "freeze", "reapply_pauses", "shift_due", "thaw", "thaw_row"]
