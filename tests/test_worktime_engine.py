"""The working-time engine on the real official 2026 China calendar (seeded by migration) and
on manual calendars in DST zones."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases.choices import Basis
from cases.models import CalendarYear, DeskSettings, WorkCalendar
from cases.worktime import (
    CalendarDataMissing,
    NoWorkingCalendar,
    Schedule,
    add_time,
    schedule_for,
    shift_for_pause,
    time_between,
)
from cases.worktime.engine import HOLIDAY, WORKDAY

CN = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = [(time(9), time(12)), (time(13, 30), time(18))]
WEEKDAYS = {wd: OFFICE for wd in range(5)}

pytestmark = pytest.mark.django_db


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN)


def test_seven_working_days_from_the_last_afternoon_before_national_day():
    due = schedule_for().add_working_days(cn(2026, 9, 30, 17), 7)
    # Oct 8, 9, 10 (make-up Saturday), 12, 13, 14, 15
    assert due.isoformat() == "2026-10-15T18:00:00+08:00"


def test_the_official_days_are_loaded():
    schedule = schedule_for()
    assert not schedule.is_working_day(date(2026, 10, 1))
    assert not schedule.is_working_day(date(2026, 9, 25))  # Mid-Autumn (a Friday)
    assert schedule.is_working_day(date(2026, 9, 20))  # make-up Sunday
    assert schedule.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert not schedule.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_a_make_up_workday_counts_its_working_hours():
    schedule = schedule_for()
    assert schedule.working_minutes_between(cn(2026, 10, 10), cn(2026, 10, 11)) == 7.5 * 60
    # Friday 9 Oct 17:00 + 2 working hours: 1 h on Friday, 1 h on the make-up Saturday.
    assert schedule.add_working_minutes(cn(2026, 10, 9, 17), 120) == cn(2026, 10, 10, 10)


def test_working_minutes_between_skip_lunch_nights_and_the_holiday():
    schedule = schedule_for()
    assert schedule.working_minutes_between(cn(2026, 9, 30, 11), cn(2026, 9, 30, 14)) == 90
    # Sep 30 17:00 -> Oct 8 10:00: 1 h on Sep 30, 1 h on Oct 8; the holiday counts nothing.
    assert schedule.working_minutes_between(cn(2026, 9, 30, 17), cn(2026, 10, 8, 10)) == 120
    assert schedule.working_minutes_between(cn(2026, 10, 8, 10), cn(2026, 9, 30, 17)) == 0


def test_a_due_time_at_the_end_of_the_day_stays_there():
    schedule = schedule_for()
    assert schedule.add_working_minutes(cn(2026, 9, 30, 17), 60) == cn(2026, 9, 30, 18)
    assert schedule.add_working_minutes(cn(2026, 9, 30, 17), 61) == cn(2026, 10, 8, 9, 1)
    assert schedule.add_working_minutes(cn(2026, 9, 30, 20), 0) == cn(2026, 9, 30, 20)


def test_adding_across_the_year_end():
    schedule = schedule_for()
    # Wed 31 Dec 2025 17:00; 1 Jan 2026 is New Year's Day (and 2 Jan, 3 Jan a Saturday:
    # all off), so the next working hour is Monday 5 Jan... unless 4 Jan is a make-up day.
    start = cn(2025, 12, 31, 17)
    due = schedule.add_working_minutes(start, 120)
    assert due.year == 2026 and due.date() > date(2026, 1, 1)
    assert schedule.working_minutes_between(start, due) == 120
    next_day = next(d for d in (date(2026, 1, 1) + timedelta(days=i) for i in range(10))
                    if schedule.is_working_day(d))
    assert due == datetime.combine(next_day, time(10), tzinfo=CN)
    assert schedule.add_working_days(start, 1) == datetime.combine(next_day, time(18), tzinfo=CN)


def test_four_hundred_working_days_is_fast_and_consistent():
    schedule = schedule_for()
    start = cn(2025, 1, 2, 10)
    began = clock.perf_counter()
    due = schedule.add_working_days(start, 400)
    assert clock.perf_counter() - began < 0.05
    assert due.year == 2026
    days = sum(1 for i in range(1, (due.date() - start.date()).days + 1)
               if schedule.is_working_day(start.date() + timedelta(days=i)))
    assert days == 400
    minutes = schedule.working_minutes_between(start, due)
    assert schedule.add_working_minutes(start, minutes) == due


def test_a_year_without_official_data_is_an_error_never_24x7():
    with pytest.raises(CalendarDataMissing, match="2027"):
        schedule_for().add_working_days(cn(2026, 12, 30, 10), 10)
    with pytest.raises(CalendarDataMissing, match="cn"):
        add_time(cn(2027, 3, 1, 10), 60, basis=Basis.WORKING)


def test_the_official_data_must_be_loaded_for_the_year():
    CalendarYear.objects.filter(year=2025).delete()
    with pytest.raises(CalendarDataMissing, match="2025"):
        schedule_for().add_working_minutes(cn(2025, 6, 2, 10), 60)


def test_a_manual_calendar_needs_no_holiday_data():
    calendar = WorkCalendar.objects.create(code="shop", name="Shop", time_zone="Asia/Shanghai")
    calendar.periods.create(weekday=0, start=time(10), end=time(22))
    due = add_time(cn(2031, 1, 6, 21), 120, basis=Basis.WORKING, calendar=calendar)
    assert due == cn(2031, 1, 13, 11)  # the next Monday


def test_no_default_calendar_is_a_clear_error():
    DeskSettings.objects.filter(pk=1).update(default_calendar=None)
    with pytest.raises(NoWorkingCalendar, match="default calendar"):
        schedule_for()


def test_elapsed_basis_is_plain_time():
    start = cn(2026, 9, 30, 17)
    assert add_time(start, 90, basis=Basis.ELAPSED) == start + timedelta(minutes=90)
    assert time_between(start, start + timedelta(hours=2), basis=Basis.ELAPSED) == 120
    assert time_between(start, start - timedelta(hours=2), basis=Basis.ELAPSED) == 0


def test_a_pause_moves_the_due_time_by_its_working_minutes_only():
    due = cn(2026, 10, 9, 17)
    # A 3-day pause Mon 28 Sep 09:00 -> Thu 1 Oct 09:00: Mon, Tue, Wed = 3 x 7.5 h.
    paused_from, paused_to = cn(2026, 9, 28, 9), cn(2026, 10, 1, 9)
    assert time_between(paused_from, paused_to, basis=Basis.WORKING) == 3 * 450
    moved = shift_for_pause(due, paused_from, paused_to, basis=Basis.WORKING)
    assert time_between(due, moved, basis=Basis.WORKING) == 3 * 450
    assert moved == cn(2026, 10, 13, 17)  # 1 h Fri 9th, 7.5 h Sat 10th and Mon 12th, 6.5 h
    assert shift_for_pause(due, paused_from, paused_to, basis=Basis.ELAPSED) == (
        due + timedelta(days=3))


# --- pure engine, DST zones ---------------------------------------------------------------

def test_working_hours_are_wall_clock_hours_across_the_spring_dst_change():
    london = Schedule(time_zone="Europe/London", periods={wd: [(time(9), time(17))]
                                                          for wd in range(5)})
    # The clocks go forward on Sunday 29 March 2026.
    friday = datetime(2026, 3, 27, 16, tzinfo=LONDON)
    due = london.add_working_minutes(friday, 120)
    assert due == datetime(2026, 3, 30, 10, tzinfo=LONDON)
    assert due.utcoffset() == timedelta(hours=1)
    assert london.working_minutes_between(friday, due) == 120


def test_a_round_the_clock_calendar_counts_the_23_and_25_hour_days():
    always = Schedule(time_zone="America/New_York",
                      periods={wd: [(time(0), time(0))] for wd in range(7)})
    spring = (datetime(2026, 3, 8, tzinfo=NEW_YORK), datetime(2026, 3, 9, tzinfo=NEW_YORK))
    autumn = (datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK))
    assert always.working_minutes_between(*spring) == 23 * 60
    assert always.working_minutes_between(*autumn) == 25 * 60
    assert always.add_working_minutes(spring[0], 23 * 60) == spring[1]
    assert always.add_calendar_days(spring[0], 0) == spring[1]


def test_holidays_and_make_up_days_in_the_pure_engine():
    schedule = Schedule(time_zone="Asia/Shanghai", periods=WEEKDAYS, name="t",
                        days={date(2026, 10, 1): HOLIDAY, date(2026, 10, 10): WORKDAY},
                        years_with_data=[2026])
    assert not schedule.is_working_day(date(2026, 10, 1))
    assert schedule.is_working_day(date(2026, 10, 10))
    with pytest.raises(CalendarDataMissing):
        schedule.is_working_day(date(2027, 1, 4))


def test_a_calendar_without_working_hours_is_refused():
    with pytest.raises(ValueError, match="no working hours"):
        Schedule(time_zone="UTC", periods={}, name="empty")
