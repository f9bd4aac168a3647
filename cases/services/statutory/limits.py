"""How a regime counts: a limit of N calendar or working days from an instant, the time the
statutory clock goes at risk, and the limit as a person reads it ("15 days (calendar)")."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.choices import Basis
from cases.models.statutory import Regime, RegimeBasis
from cases.services.errors import InvalidInput
from cases.worktime import CalendarDataMissing, add_time, schedule_for, time_between

# The share of the allowed time after which a statutory clock is at risk (as the tiers' 75 %).
AT_RISK_SHARE = 0.75


def clock_basis(regime: Regime) -> str:
    """The basis of the regime's CaseDeadline rows: working time for working days (so a pause
    moves them by the working time it took), elapsed time for calendar days."""
    return Basis.WORKING if regime.basis == RegimeBasis.WORKING_DAYS else Basis.ELAPSED


def limit_due(regime: Regime, start: datetime, days: int) -> datetime:
    """The end of a limit of ``days`` counted from ``start`` on the regime's calendar (the
    desk default when it names none), the day of ``start`` not counted: the end of working
    hours of the ``days``-th working day after it, or 24:00 local of the ``days``-th calendar
    day after it. Raises CalendarDataMissing when the calendar has no data for a year it
    needs, as InvalidInput: the action is refused and changes nothing."""
    try:
        schedule = schedule_for(regime.calendar_id)
        if regime.basis == RegimeBasis.WORKING_DAYS:
            return schedule.add_working_days(start, days)
        return schedule.add_calendar_days(start, days)
    except CalendarDataMissing as exc:
        raise InvalidInput(
            _("The statutory limit of %(regime)s cannot be counted: %(problem)s")
            % {"regime": regime.code, "problem": exc}, field="regime") from exc


def risk_from(regime: Regime, start: datetime, due: datetime) -> datetime:
    """When a clock from ``start`` to ``due`` has used 75 % of its time, in its basis."""
    basis = clock_basis(regime)
    allowed = time_between(start, due, basis=basis, calendar=regime.calendar_id)
    return add_time(start, allowed * AT_RISK_SHARE, basis=basis, calendar=regime.calendar_id)


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
