"""``manage.py calendar``: load, due and show, and their errors (issue 14)."""

from __future__ import annotations

from datetime import date, time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cases.models import CalendarDay, CalendarYear, WorkCalendar
from cases.worktime.loader import library_version

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("calendar", *args, stdout=out)
    return out.getvalue().strip()


def cn() -> WorkCalendar:
    return WorkCalendar.objects.get(code="cn")


def test_due_after_seven_working_days_from_before_national_day():
    assert run("due", "--start", "2026-09-30 17:00", "--working-days", "7") == (
        "2026-10-15T18:00:00+08:00")


def test_due_after_working_minutes_and_with_an_offset_start():
    assert run("due", "--start", "2026-09-30 17:00", "--working-minutes", "90",
               "--calendar", "cn") == "2026-10-08T09:30:00+08:00"
    # 09:00 UTC is 17:00 in Shanghai
    assert run("due", "--start", "2026-09-30T09:00:00+00:00", "--working-minutes", "60") == (
        "2026-09-30T18:00:00+08:00")


@pytest.mark.parametrize("args, message", [
    (["--start", "2026-09-30 17:00", "--working-days", "7", "--calendar", "nope"],
     "Unknown calendar nope"),
    (["--start", "30/09/2026", "--working-days", "7"], "Bad --start"),
    (["--start", "2026-09-30 17:00"], "one of the arguments"),
    (["--start", "2026-09-30 17:00", "--working-days", "1", "--working-minutes", "5"],
     "not allowed with"),
    (["--start", "2026-09-30 17:00", "--working-days", "-3"], "negative"),
    (["--start", "2026-09-30 17:00", "--working-minutes", "abc"], "not a number"),
    (["--start", "2026-12-30 17:00", "--working-days", "30"], "no holiday data for 2027"),
])
def test_bad_due_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        run("due", *args)


def test_load_is_idempotent_and_records_the_library_version():
    CalendarDay.objects.filter(calendar=cn(), date__year=2026).delete()
    CalendarYear.objects.filter(calendar=cn(), year=2026).delete()
    out = run("load", "--year", "2026")
    assert "2026" in out and library_version() in out
    days = set(CalendarDay.objects.filter(calendar=cn(), date__year=2026)
               .values_list("date", "kind"))
    assert (date(2026, 10, 10), "workday") in days
    assert (date(2026, 10, 1), "holiday") in days
    run("load", "--year", "2026", "--calendar", "cn")
    assert set(CalendarDay.objects.filter(calendar=cn(), date__year=2026)
               .values_list("date", "kind")) == days
    year = CalendarYear.objects.get(calendar=cn(), year=2026)
    assert (year.source, year.version) == ("chinese_calendar", "1.11.0")
    assert run("due", "--start", "2026-09-30 17:00", "--working-days", "7") == (
        "2026-10-15T18:00:00+08:00")


def test_load_keeps_the_days_entered_by_hand():
    CalendarDay.objects.filter(calendar=cn(), date=date(2026, 10, 9)).delete()
    cn().days.create(date=date(2026, 10, 9), kind="holiday", name="Company day")
    run("load", "--year", "2026")
    assert CalendarDay.objects.get(calendar=cn(), date=date(2026, 10, 9)).source == "manual"


def test_a_year_without_data_is_an_error_and_writes_nothing():
    before = (CalendarDay.objects.count(), CalendarYear.objects.count())
    with pytest.raises(CommandError, match="no official data for 2027"):
        run("load", "--year", "2027")
    assert (CalendarDay.objects.count(), CalendarYear.objects.count()) == before


def test_a_manual_calendar_cannot_be_loaded():
    WorkCalendar.objects.create(code="shop", name="Shop")
    with pytest.raises(CommandError, match="by hand"):
        run("load", "--year", "2026", "--calendar", "shop")


def test_show_lists_the_year():
    out = run("show", "--year", "2026")
    assert "chinese_calendar 1.11.0" in out
    assert "2026-10-10" in out and "2026-10-01" in out
    with pytest.raises(CommandError, match="no data for 2027"):
        run("show", "--year", "2027")


def test_a_manual_calendar_answers_any_year():
    shop = WorkCalendar.objects.create(code="shop", name="Shop", time_zone="Europe/London")
    shop.periods.create(weekday=0, start=time(9), end=time(17))
    assert run("due", "--start", "2030-01-01 10:00", "--working-days", "1",
               "--calendar", "shop") == "2030-01-07T17:00:00+00:00"
