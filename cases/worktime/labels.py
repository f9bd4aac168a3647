"""Countdown texts of working-time clocks ("due in 5 working hours", zh "剩余5个工作小时").

The desk's script refreshes elapsed countdowns in the browser every 30 s; it cannot count
working time (it does not know the calendar), so a working-time countdown is computed here
when the page is rendered and marked ``data-basis="working"`` for the script to leave alone.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.worktime.calendars import schedule_for
from cases.worktime.engine import CalendarDataMissing


def working_left(due_at: datetime, calendar_id: int, now: datetime) -> str:
    """The working time left until ``due_at`` on the calendar, in words."""
    minutes = schedule_for(calendar_id).working_minutes_between(now, due_at)
    if minutes >= 60:
        hours = round(minutes / 60)
        return ngettext("%(n)s working hour", "%(n)s working hours", hours) % {"n": hours}
    minutes = max(1, round(minutes))
    return ngettext("%(n)s working minute", "%(n)s working minutes", minutes) % {"n": minutes}


def countdown(due_at: datetime, calendar_id: int | None, now: datetime | None = None) -> str:
    """The countdown text of a deadline: the working time left when it counts working time on
    a calendar ("-<elapsed>" once it is due), else the elapsed time left."""
    now = now or timezone.now()
    if calendar_id is not None:
        if due_at <= now:
            return f"-{timesince(due_at, now)}"
        try:
            return working_left(due_at, calendar_id, now)
        except CalendarDataMissing:
            pass
    return timeuntil(due_at, now)


def basis_note(calendar_id: int | None) -> str:
    """"working time" for a working-time deadline, "" for elapsed time."""
    return _("working time") if calendar_id is not None else ""
