"""Working time: the engine (pure) and the database calendars it runs on.

    from cases.worktime import CalendarDataMissing, schedule_for, add_time, time_between, \
        shift_for_pause
"""

from cases.worktime.calendars import (
    NoWorkingCalendar,
    add_time,
    default_calendar_id,
    schedule_for,
    shift_for_pause,
    time_between,
)
from cases.worktime.engine import CalendarDataMissing, Schedule

__all__ = [
    "CalendarDataMissing",
    "NoWorkingCalendar",
    "Schedule",
    "add_time",
    "default_calendar_id",
    "schedule_for",
    "shift_for_pause",
    "time_between",
]
