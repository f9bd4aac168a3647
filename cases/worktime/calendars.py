"""Working calendars from the database as engine ``Schedule``s, cached per process.

A process keeps one ``Schedule`` per calendar (each builds its years lazily, once) and the
desk default calendar's id. Saving or deleting a calendar, its working hours, its days or
years, or the desk settings drops this process's copies at once and, after commit, publishes
a new version in the shared cache (as ``cases.services.desk_config`` does), which every other
process compares with at most once per ``CHECK_EVERY`` seconds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from cases.choices import Basis
from cases.models import (
    CalendarDay,
    CalendarYear,
    DeskSettings,
    WorkCalendar,
    WorkingPeriod,
)
from cases.models.calendars import DayKind
from cases.worktime.engine import HOLIDAY, WORKDAY, CalendarDataMissing, Schedule

VERSION_KEY = "worktime-calendars-version"
CHECK_EVERY = 1.0  # seconds between two reads of the shared version


class NoWorkingCalendar(CalendarDataMissing):
    """A working-time clock with no calendar: none given and no desk default set."""

    def __init__(self) -> None:
        self.calendar, self.year = "", 0
        ValueError.__init__(self, "No working calendar: set the desk's default calendar in "
                                  "the admin (Desk settings).")


_UNSET: Any = object()


class _Cache:
    schedules: dict[int, Schedule] = {}
    default_id: Any = _UNSET
    version: Any = None
    checked_at: float = float("-inf")


def forget() -> None:
    """Drop this process's schedules (the next use reads the database)."""
    _Cache.schedules = {}
    _Cache.default_id = _UNSET
    _Cache.checked_at = float("-inf")


def _check_version() -> None:
    from cases.services import desk_config  # desk_config -> clocks -> worktime: no cycle

    now = time.monotonic()
    if now - _Cache.checked_at < CHECK_EVERY:
        return
    version = desk_config.shared_version(VERSION_KEY)
    if version is None or version != _Cache.version:
        forget()
    _Cache.version, _Cache.checked_at = version, now


def load_schedule(calendar: WorkCalendar) -> Schedule:
    """A fresh ``Schedule`` of ``calendar`` from the database (3 queries)."""
    periods: dict[int, list] = {}
    for period in WorkingPeriod.objects.filter(calendar=calendar):
        periods.setdefault(period.weekday, []).append((period.start, period.end))
    days = {day.date: (HOLIDAY if day.kind == DayKind.HOLIDAY else WORKDAY)
            for day in CalendarDay.objects.filter(calendar=calendar)}
    years = (set(CalendarYear.objects.filter(calendar=calendar).values_list("year", flat=True))
             if calendar.is_official else None)
    return Schedule(time_zone=calendar.time_zone, periods=periods, days=days,
                    name=calendar.code, years_with_data=years)


def default_calendar_id() -> int | None:
    """The desk's default calendar (cached; a query only after a change)."""
    _check_version()
    if _Cache.default_id is _UNSET:
        _Cache.default_id = (DeskSettings.objects.filter(pk=1)
                             .values_list("default_calendar_id", flat=True).first())
    return _Cache.default_id


def schedule_for(calendar: WorkCalendar | int | None = None) -> Schedule:
    """The schedule of ``calendar`` (a calendar or its id; None: the desk default).
    No query while the process's copy is current."""
    _check_version()
    calendar_id = calendar.pk if isinstance(calendar, WorkCalendar) else calendar
    if calendar_id is None:
        calendar_id = default_calendar_id()
        if calendar_id is None:
            raise NoWorkingCalendar()
    schedule = _Cache.schedules.get(calendar_id)
    if schedule is None:
        row = calendar if isinstance(calendar, WorkCalendar) else WorkCalendar.objects.get(
            pk=calendar_id)
        schedule = _Cache.schedules[calendar_id] = load_schedule(row)
    return schedule


def add_time(start: datetime, minutes: float, *, basis: str,
             calendar: WorkCalendar | int | None = None) -> datetime:
    """``start`` + ``minutes`` counted in ``basis`` (working: on ``calendar``)."""
    if basis == Basis.WORKING:
        return schedule_for(calendar).add_working_minutes(start, minutes)
    return start + timedelta(minutes=minutes)


def time_between(a: datetime, b: datetime, *, basis: str,
                 calendar: WorkCalendar | int | None = None) -> float:
    """Minutes from ``a`` to ``b`` counted in ``basis``; 0 if ``b`` <= ``a``."""
    if basis == Basis.WORKING:
        return schedule_for(calendar).working_minutes_between(a, b)
    return max(0.0, (b - a).total_seconds() / 60.0)


def shift_for_pause(due: datetime, paused_from: datetime, paused_to: datetime, *, basis: str,
                    calendar: WorkCalendar | int | None = None) -> datetime:
    """``due`` moved later by the time of the pause [paused_from, paused_to) that counts in
    ``basis`` (working: only the working minutes inside the pause)."""
    if basis == Basis.WORKING:
        schedule = schedule_for(calendar)
        return schedule.add_working_minutes(
            due, schedule.working_minutes_between(paused_from, paused_to))
    return due + max(timedelta(0), paused_to - paused_from)


def _changed(**kwargs: Any) -> None:
    from cases.services import desk_config

    forget()
    transaction.on_commit(lambda: desk_config.publish_version(VERSION_KEY),
                          using=kwargs.get("using"))


def connect_signals() -> None:
    """Watch the rows schedules are built from (called from ``CasesConfig.ready``)."""
    for model in (WorkCalendar, WorkingPeriod, CalendarDay, CalendarYear, DeskSettings):
        uid = f"worktime-{model.__name__}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")
