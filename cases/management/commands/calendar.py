"""``manage.py calendar``: load the official calendar, answer "when is this due?", show a year.

    python manage.py calendar load --year 2026 [--calendar cn]
    python manage.py calendar due --start "2026-09-30 17:00" --working-days 7 [--calendar cn]
    python manage.py calendar due --start "2026-09-30T17:00+08:00" --working-minutes 90
    python manage.py calendar show --year 2026 [--calendar cn]
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cases.models import CalendarDay, CalendarYear, DeskSettings, WorkCalendar
from cases.worktime import CalendarDataMissing
from cases.worktime.calendars import load_schedule
from cases.worktime.loader import calendar_load_year, library_version, supported_years


def _non_negative(kind: type) -> Any:
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(_("%(value)s is not a number.")
                                             % {"value": value}) from None
        if number < 0:
            raise argparse.ArgumentTypeError(_("%(value)s is negative.") % {"value": value})
        return number
    return parse


class Command(BaseCommand):
    help = "Working calendars: load official years, compute due times, show a year."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        load = actions.add_parser("load", help="Load a year of the official calendar.")
        load.add_argument("--year", type=int, required=True)
        load.add_argument("--calendar", default=None, help="Calendar code (default: the desk's)")
        due = actions.add_parser("due", help="The due instant after working days or minutes.")
        due.add_argument("--start", required=True,
                         help='"YYYY-MM-DD HH:MM" in the calendar\'s time zone, or ISO 8601 '
                              "with an offset")
        span = due.add_mutually_exclusive_group(required=True)
        span.add_argument("--working-days", type=_non_negative(int))
        span.add_argument("--working-minutes", type=_non_negative(float))
        due.add_argument("--calendar", default=None)
        show = actions.add_parser("show", help="Holidays and make-up workdays of a year.")
        show.add_argument("--year", type=int, required=True)
        show.add_argument("--calendar", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        calendar = self._calendar(options["calendar"])
        getattr(self, f"_{options['action']}")(calendar, options)

    @staticmethod
    def _calendar(code: str | None) -> WorkCalendar:
        if code is None:
            settings = DeskSettings.objects.select_related("default_calendar").filter(
                pk=1).first()
            if settings is None or settings.default_calendar is None:
                raise CommandError(_("No default working calendar is set: pass --calendar."))
            return settings.default_calendar
        calendar = WorkCalendar.objects.filter(code=code).first()
        if calendar is None:
            known = ", ".join(WorkCalendar.objects.values_list("code", flat=True)) or "-"
            raise CommandError(_("Unknown calendar %(code)s (known: %(known)s).")
                               % {"code": code, "known": known})
        return calendar

    def _load(self, calendar: WorkCalendar, options: dict[str, Any]) -> None:
        year = options["year"]
        if not calendar.is_official:
            raise CommandError(_("Calendar %(code)s is kept by hand in the admin; it has no "
                                 "official source to load.") % {"code": calendar.code})
        try:
            loaded = calendar_load_year(calendar=calendar, year=year)
        except CalendarDataMissing:
            first, last = supported_years()
            raise CommandError(_(
                "chinese-calendar %(version)s has no official data for %(year)s (it covers "
                "%(first)s-%(last)s); nothing was loaded. Upgrade the library once the State "
                "Council has published that year's arrangement."
            ) % {"version": library_version(), "year": year, "first": first,
                 "last": last}) from None
        self.stdout.write(_("Loaded %(year)s into %(code)s: %(holidays)s holidays, "
                            "%(workdays)s make-up workdays (%(source)s %(version)s).") % {
            "year": year, "code": calendar.code, "holidays": loaded.holidays,
            "workdays": loaded.workdays, "source": loaded.source, "version": loaded.version})

    def _due(self, calendar: WorkCalendar, options: dict[str, Any]) -> None:
        schedule = load_schedule(calendar)
        start = self._start(options["start"], schedule.time_zone)
        try:
            if options["working_days"] is not None:
                due = schedule.add_working_days(start, options["working_days"])
            else:
                due = schedule.add_working_minutes(start, options["working_minutes"])
        except CalendarDataMissing as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(due.isoformat())

    @staticmethod
    def _start(text: str, zone: Any) -> datetime:
        try:
            start = datetime.fromisoformat(text.strip())
        except ValueError:
            raise CommandError(_('Bad --start %(value)s: give "YYYY-MM-DD HH:MM" or ISO 8601.')
                               % {"value": text}) from None
        return start if start.tzinfo is not None else start.replace(tzinfo=zone)

    def _show(self, calendar: WorkCalendar, options: dict[str, Any]) -> None:
        year = options["year"]
        loaded = CalendarYear.objects.filter(calendar=calendar, year=year).first()
        if loaded is not None:
            self.stdout.write(f"{calendar.code} {year}: {loaded.source} {loaded.version}, "
                              f"{loaded.loaded_at:%Y-%m-%d %H:%M}")
        elif calendar.is_official:
            raise CommandError(_("Calendar %(code)s has no data for %(year)s: run `calendar "
                                 "load --year %(year)s`.") % {"code": calendar.code,
                                                               "year": year})
        for day in CalendarDay.objects.filter(calendar=calendar, date__year=year):
            self.stdout.write(f"{day.date} {day.date:%a} {day.get_kind_display()} {day.name}")
