"""Reporting periods in the desk's reporting time zone (``settings.TIME_ZONE``).

Every KPI is reported on local calendar boundaries: a week runs Monday 00:00 to Monday 00:00
local time, a month from the 1st at 00:00. Reports use the company's zone, not the viewer's,
so two supervisors in different zones see the same numbers.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reporting.kpis import Window

THIS_WEEK, LAST_WEEK, THIS_MONTH, LAST_MONTH = "this_week", "last_week", "this_month", "last_month"
LAST_12_MONTHS, CUSTOM = "last_12_months", "custom"
PRESETS: list[tuple[str, Promise]] = [
    (THIS_WEEK, _("This week")),
    (LAST_WEEK, _("Last week")),
    (THIS_MONTH, _("This month")),
    (LAST_MONTH, _("Last month")),
    (LAST_12_MONTHS, _("Last 12 months")),
    (CUSTOM, _("Custom range")),
]
MAX_CUSTOM_DAYS = 3 * 366


def report_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=report_tz())


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Local dates ``first`` .. ``last`` inclusive, and the period before it."""

    kind: str
    first: date
    last: date
    previous_first: date
    previous_last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def window(self, now: datetime) -> Window:
        return Window(local_midnight(self.first), local_midnight(self.last + timedelta(days=1)),
                      now)

    def previous_window(self, now: datetime) -> Window:
        return Window(local_midnight(self.previous_first),
                      local_midnight(self.previous_last + timedelta(days=1)), now)

    def trend_window(self, now: datetime, min_weeks: int = 12) -> Window:
        """Whole local weeks covering the period, at least ``min_weeks`` ending with its last."""
        last_week = week_start(self.last)
        first_week = min(week_start(self.first), last_week - timedelta(weeks=min_weeks - 1))
        return Window(local_midnight(first_week), local_midnight(last_week + timedelta(weeks=1)),
                      now)


def today_local(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), report_tz()).date()


def resolve(kind: str, *, today: date, first: date | None = None,
            last: date | None = None) -> Period:
    """Turn a preset (or a custom range) into a Period; the previous period is the same
    calendar unit before it (last week, last month) or, for a custom range, as many days
    immediately before."""
    if kind == THIS_WEEK or kind == LAST_WEEK:
        start = week_start(today) - timedelta(weeks=1 if kind == LAST_WEEK else 0)
        return Period(kind, start, start + timedelta(days=6), start - timedelta(weeks=1),
                      start - timedelta(days=1))
    if kind == THIS_MONTH or kind == LAST_MONTH:
        start = _add_months(_month_start(today), -1 if kind == LAST_MONTH else 0)
        end = _add_months(start, 1) - timedelta(days=1)
        prev = _add_months(start, -1)
        return Period(kind, start, end, prev, start - timedelta(days=1))
    if kind == LAST_12_MONTHS:
        start = _add_months(_month_start(today), -11)
        end = _add_months(_month_start(today), 1) - timedelta(days=1)
        prev = _add_months(start, -12)
        return Period(kind, start, end, prev, start - timedelta(days=1))
    if kind == CUSTOM and first is not None and last is not None:
        days = (last - first).days + 1
        return Period(kind, first, last, first - timedelta(days=days),
                      first - timedelta(days=1))
    raise ValueError(f"unknown period {kind!r}")
