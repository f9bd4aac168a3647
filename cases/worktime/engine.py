"""The working-time engine: pure Python, no database.

A ``Schedule`` is a calendar's weekly working hours, its exceptional days (holidays and
make-up workdays) and its time zone. For each year it is asked about, it builds once:

- the working intervals as sorted UTC epoch seconds (``starts``/``ends``), built from local
  wall times with ``zoneinfo`` so a day of 23 or 25 hours (DST) is exact;
- the cumulative working seconds before each interval (``before``) and up to its end
  (``upto``), so "the instant N working seconds after t" and "the working seconds between a
  and b" are two binary searches (``bisect``) whatever the span;
- the working dates as ordinals, so "the Nth working day after d" is an index lookup.

Spans across years walk year by year (a few steps for 400 working days), never minute by
minute or day by day. An official calendar asked about a year without loaded data raises
``CalendarDataMissing``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOLIDAY = "holiday"
WORKDAY = "workday"
_MIDNIGHT = time(0)


class CalendarDataMissing(ValueError):
    """An official calendar has no holiday data loaded for a year it was asked about."""

    def __init__(self, calendar: str, year: int) -> None:
        self.calendar, self.year = calendar, year
        super().__init__(
            f"Working calendar {calendar!r} has no holiday data for {year}: load it with "
            f"`manage.py calendar load --year {year}` (or its source has none yet)."
        )


@dataclass(frozen=True)
class _Year:
    starts: list[float]
    ends: list[float]
    before: list[float]  # working seconds of this year before interval i
    upto: list[float]  # working seconds of this year up to the end of interval i
    workdays: list[int]  # ordinals of the working dates
    day_end: dict[int, float]  # ordinal -> end of that date's last working interval

    @property
    def total(self) -> float:
        return self.upto[-1] if self.upto else 0.0


Periods = Mapping[int, Iterable[tuple[time, time]]]


class Schedule:
    """Working time of one calendar. All arguments and results are aware datetimes; results
    are in the calendar's time zone."""

    def __init__(
        self, *, time_zone: str | ZoneInfo, periods: Periods,
        days: Mapping[date, str] | None = None, name: str = "",
        years_with_data: Iterable[int] | None = None,
    ) -> None:
        """``periods``: weekday (0 = Monday) -> (start, end) local times, an end of 00:00 being
        midnight. ``days``: date -> HOLIDAY or WORKDAY (a make-up workday works Monday's
        hours, or the first weekday with hours). ``years_with_data``: for an official calendar,
        the years whose holidays are loaded (None: a manual calendar, any year counts)."""
        self.time_zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
        self.name = name
        self._periods = {wd: sorted(p) for wd, p in periods.items() if p}
        if not self._periods:
            raise ValueError(f"Working calendar {name!r} has no working hours.")
        self._days = dict(days or {})
        self._years_with_data = None if years_with_data is None else set(years_with_data)
        workday_hours = [self._periods[wd] for wd in range(7) if wd in self._periods]
        self._makeup_hours = workday_hours[0] if workday_hours else []
        self._years: dict[int, _Year] = {}

    # -- building ---------------------------------------------------------------------------

    def _hours_on(self, day: date) -> list[tuple[time, time]]:
        kind = self._days.get(day)
        if kind == HOLIDAY:
            return []
        if kind == WORKDAY:
            return self._periods.get(day.weekday()) or self._makeup_hours
        return self._periods.get(day.weekday(), [])

    def _local(self, day: date, at: time) -> float:
        return datetime.combine(day, at, tzinfo=self.time_zone).timestamp()

    def _year(self, year: int) -> _Year:
        built = self._years.get(year)
        if built is not None:
            return built
        if self._years_with_data is not None and year not in self._years_with_data:
            raise CalendarDataMissing(self.name, year)
        starts: list[float] = []
        ends: list[float] = []
        workdays: list[int] = []
        day_end: dict[int, float] = {}
        day = date(year, 1, 1)
        while day.year == year:  # 365 steps once per calendar and year
            hours = self._hours_on(day)
            for begin, end in hours:
                start_ts = self._local(day, begin)
                end_ts = (self._local(day + timedelta(days=1), _MIDNIGHT) if end == _MIDNIGHT
                          else self._local(day, end))
                if end_ts > start_ts:
                    starts.append(start_ts)
                    ends.append(end_ts)
            if hours:
                workdays.append(day.toordinal())
                day_end[day.toordinal()] = ends[-1]
            day += timedelta(days=1)
        before, upto, total = [], [], 0.0
        for start_ts, end_ts in zip(starts, ends, strict=True):
            before.append(total)
            total += end_ts - start_ts
            upto.append(total)
        built = _Year(starts, ends, before, upto, workdays, day_end)
        self._years[year] = built
        return built

    def _year_of(self, ts: float) -> int:
        return datetime.fromtimestamp(ts, self.time_zone).year

    def _out(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.time_zone)

    @staticmethod
    def _offset(year: _Year, ts: float) -> float:
        """Working seconds of ``year`` before the instant ``ts`` (which lies in that year)."""
        i = bisect_right(year.ends, ts)  # first interval ending after ts
        if i == len(year.ends):
            return year.total
        return year.before[i] + max(0.0, ts - year.starts[i])

    # -- the API ----------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        return day.toordinal() in self._year(day.year).day_end

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant after ``minutes`` working minutes from ``start`` (a due time that falls
        on the end of working hours stays there: 18:00, not 09:00 the next working day)."""
        if minutes <= 0:
            return start
        ts = start.timestamp()
        year_no = self._year_of(ts)
        year = self._year(year_no)
        target = self._offset(year, ts) + minutes * 60.0
        while target > year.total:
            target -= year.total
            year_no += 1
            year = self._year(year_no)
        j = bisect_left(year.upto, target)
        return self._out(year.starts[j] + (target - year.before[j]))

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes in [a, b); 0 if b <= a."""
        ts_a, ts_b = a.timestamp(), b.timestamp()
        if ts_b <= ts_a:
            return 0.0
        year_a, year_b = self._year_of(ts_a), self._year_of(ts_b)
        first = self._year(year_a)
        if year_a == year_b:
            return (self._offset(first, ts_b) - self._offset(first, ts_a)) / 60.0
        seconds = first.total - self._offset(first, ts_a)
        for year_no in range(year_a + 1, year_b):
            seconds += self._year(year_no).total
        seconds += self._offset(self._year(year_b), ts_b)
        return seconds / 60.0

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of working hours of the ``days``-th working day after ``start``'s local
        date (the day of ``start`` does not count). ``days`` <= 0: ``start``."""
        if days <= 0:
            return start
        after = start.astimezone(self.time_zone).date().toordinal()
        year_no = date.fromordinal(after).year
        remaining = days
        while True:
            year = self._year(year_no)
            i = bisect_right(year.workdays, after)
            left = len(year.workdays) - i
            if remaining <= left:
                return self._out(year.day_end[year.workdays[i + remaining - 1]])
            remaining -= left
            year_no += 1

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """24:00 local of ``start``'s local date + ``days``."""
        day = start.astimezone(self.time_zone).date() + timedelta(days=days + 1)
        return datetime.combine(day, _MIDNIGHT, tzinfo=self.time_zone)
