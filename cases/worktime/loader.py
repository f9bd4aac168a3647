"""Loading the official China calendar (holidays and make-up workdays, 调休) from the
``chinese-calendar`` library into a ``WorkCalendar``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib.metadata import version as package_version

import chinese_calendar
from django.db import transaction
from django.utils import timezone

from cases.models import CalendarDay, CalendarYear, WorkCalendar
from cases.models.calendars import CalendarSource, DayKind
from cases.worktime.engine import CalendarDataMissing

SOURCE = CalendarSource.CHINESE_CALENDAR.value


@dataclass(frozen=True)
class OfficialYear:
    year: int
    version: str
    days: list[tuple[date, str, str]]  # (date, DayKind, English name of the holiday)

    @property
    def source(self) -> str:
        return f"{SOURCE} {self.version}"


def library_version() -> str:
    return package_version("chinese-calendar")


def official_year(year: int, calendar_code: str = "cn") -> OfficialYear:
    """The official arrangement of ``year``; ``CalendarDataMissing`` if the library has none
    (it raises NotImplementedError for a year it does not know)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        chinese_calendar.is_workday(date(year, 12, 31))
    except (NotImplementedError, ValueError, OverflowError) as exc:
        raise CalendarDataMissing(calendar_code, year) from exc
    days = [(day, DayKind.HOLIDAY.value, name) for day, name in chinese_calendar.holidays.items()
            if day.year == year]
    days += [(day, DayKind.WORKDAY.value, name) for day, name in chinese_calendar.workdays.items()
             if day.year == year]
    return OfficialYear(year=year, version=library_version(), days=sorted(days))


def calendar_load_year(*, calendar: WorkCalendar, year: int) -> CalendarYear:
    """Load (or reload) one year of official data into ``calendar``: the year's days from the
    library replace those of the same source; days the admin entered by hand stay. Idempotent.
    ``CalendarDataMissing`` (and nothing written) if the library has no data for the year."""
    data = official_year(year, calendar.code)
    with transaction.atomic():
        CalendarDay.objects.filter(calendar=calendar, date__year=year,
                                   source__startswith=SOURCE).delete()
        manual = set(CalendarDay.objects.filter(calendar=calendar, date__year=year)
                     .values_list("date", flat=True))
        CalendarDay.objects.bulk_create([
            CalendarDay(calendar=calendar, date=day, kind=kind, name=name, source=data.source)
            for day, kind, name in data.days if day not in manual
        ])
        loaded, _created = CalendarYear.objects.update_or_create(
            calendar=calendar, year=year,
            defaults={
                "source": SOURCE, "version": data.version, "loaded_at": timezone.now(),
                "holidays": sum(1 for d in data.days if d[1] == DayKind.HOLIDAY),
                "workdays": sum(1 for d in data.days if d[1] == DayKind.WORKDAY),
            },
        )  # its post_save drops the cached schedules (bulk_create sends no signal)
    return loaded


def supported_years() -> tuple[int, int]:
    """The first and last year the installed library has official data for."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)
