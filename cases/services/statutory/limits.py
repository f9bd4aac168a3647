"""How a regime counts: a limit of N calendar or working days from an instant, the time the
statutory clock goes at risk, and the limit as a person reads it ("15 days (calendar)")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import ngettext

from cases.choices import Basis
from cases.models.statutory import Regime, RegimeBasis
from cases.worktime import CalendarDataMissing, default_calendar_id, schedule_for

logger = logging.getLogger(__name__)

# The share of the allowed time after which a statutory clock is at risk (as the tiers' 75 %).
AT_RISK_SHARE = 0.75


@dataclass(frozen=True)
class Limit:
    """A counted statutory limit: its end, when it goes at risk, and how its CaseDeadline row
    counts (``basis``, ``calendar_id``). ``problem``: why working days could not be counted
    (the calendar lacks a year), in which case it was counted in calendar days instead."""

    due_at: datetime
    risk_at: datetime
    basis: str
    calendar_id: int | None
    problem: str = ""


def _calendar_days(start: datetime, days: int) -> datetime:
    """24:00 local (the desk's time zone) of the ``days``-th day after ``start``'s date."""
    day = timezone.localtime(start).date() + timedelta(days=days + 1)
    return timezone.make_aware(datetime.combine(day, time.min))


def count_limit(regime: Regime, start: datetime, days: int) -> Limit:
    """A limit of ``days`` counted from ``start`` on the regime's calendar (the desk default
    when it names none), the day of ``start`` not counted: the end of working hours of the
    ``days``-th working day after it, or 24:00 local of the ``days``-th calendar day after it.
    When the calendar has no data for a year the working days need, they are counted as
    calendar days (an earlier end, so the desk is warned early rather than late), the error
    is logged and ``problem`` says why: a complaint is never refused for a missing year."""
    calendar_id = regime.calendar_id or default_calendar_id()
    try:
        schedule = schedule_for(calendar_id)
        if regime.basis == RegimeBasis.WORKING_DAYS:
            due = schedule.add_working_days(start, days)
            used = schedule.working_minutes_between(start, due) * AT_RISK_SHARE
            return Limit(due, schedule.add_working_minutes(start, used), Basis.WORKING,
                         calendar_id)
        due = schedule.add_calendar_days(start, days)
        problem = ""
    except CalendarDataMissing as exc:
        logger.error("statutory regime %s counts calendar days: %s", regime.code, exc)
        due, problem = _calendar_days(start, days), str(exc)
    return Limit(due, start + (due - start) * AT_RISK_SHARE, Basis.ELAPSED, None,
                 problem if regime.basis == RegimeBasis.WORKING_DAYS else "")


def capped(limit: Limit, start: datetime, cap: datetime | None) -> Limit:
    """``limit`` ending at ``cap`` instead when ``cap`` (the regulator's own deadline) is
    earlier; at risk at 75 % of the elapsed time to it."""
    if cap is None or cap >= limit.due_at:
        return limit
    return Limit(cap, start + (cap - start) * AT_RISK_SHARE, Basis.ELAPSED, None,
                 limit.problem)


def last_day(due: datetime) -> date:
    """The last local day of a limit ending at ``due``: a calendar-day limit ends at 24:00,
    which is 00:00 of the next day, and people name the day before."""
    return timezone.localtime(due - timedelta(microseconds=1)).date()


def due_label(due: datetime) -> str:
    """The local due time as people write a legal limit: a limit ending at midnight is
    ``2026-10-15 24:00`` (the last day), not ``2026-10-16 00:00``."""
    local = timezone.localtime(due)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{last_day(due):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def days_label(days: int, basis: str) -> str:
    """``15 days (calendar)`` or ``7 working days``, in the active language."""
    if basis == RegimeBasis.WORKING_DAYS:
        return ngettext("%(days)d working day", "%(days)d working days", days) % {"days": days}
    return ngettext("%(days)d day (calendar)", "%(days)d days (calendar)", days) % {"days": days}


def regime_limit_label(regime: Regime) -> str:
    """The regime's first limit, e.g. ``15 days (calendar)``."""
    return days_label(regime.first_limit_days, regime.basis)
