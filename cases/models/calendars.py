"""Working calendars: working hours per weekday, holidays and make-up workdays (调休), the
years of official data loaded, and the basis each SLA clock counts in."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import Basis, Clock


class CalendarSource(models.TextChoices):
    MANUAL = "manual", _("Manual (holidays entered in the admin)")
    CHINESE_CALENDAR = "chinese_calendar", _("Official China calendar (chinese-calendar)")


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday")
    WORKDAY = "workday", _("Make-up workday")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("%(zone)s is not an IANA time zone (e.g. Asia/Shanghai)."),
                              params={"zone": value})


class WorkCalendar(models.Model):
    """A working calendar. An official-source calendar needs each year's holiday data loaded
    (``manage.py calendar load --year``): counting in a year without it is an error, never a
    silent 24x7. A manual calendar counts with whatever days the admin entered."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 validators=[validate_time_zone])
    source = models.CharField(_("holiday source"), max_length=20, choices=CalendarSource.choices,
                              default=CalendarSource.MANUAL)

    class Meta:
        ordering = ["code"]
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def is_official(self) -> bool:
        return self.source != CalendarSource.MANUAL


class WorkingPeriod(models.Model):
    """Working hours on one weekday (several per day: 09:00-12:00 and 13:30-18:00). An end of
    00:00 means midnight at the end of the day. Make-up workdays work Monday's hours."""

    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end.hour + self.end.minute:
            if self.end <= self.start:
                raise ValidationError(_("The working hours must end after they start."))


class CalendarDay(models.Model):
    """A date that differs from the weekly pattern: a holiday, or a make-up workday (调休)."""

    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=60, default=CalendarSource.MANUAL.value)

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("holiday or make-up workday")
        verbose_name_plural = _("holidays and make-up workdays")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="calendar_day_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class CalendarYear(models.Model):
    """A year of official data loaded into a calendar, with its source and version."""

    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=60)
    version = models.CharField(_("version"), max_length=30)
    holidays = models.PositiveSmallIntegerField(_("holidays"), default=0)
    workdays = models.PositiveSmallIntegerField(_("make-up workdays"), default=0)
    loaded_at = models.DateTimeField(_("loaded"))

    class Meta:
        ordering = ["calendar", "year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        constraints = [models.UniqueConstraint(fields=["calendar", "year"],
                                               name="calendar_year_once")]

    def __str__(self) -> str:
        return f"{self.calendar} {self.year} ({self.source} {self.version})"


class ClockBasis(models.Model):
    """How one clock of one tier's SLA policy counts. No row: elapsed time."""

    policy = models.ForeignKey("cases.SlaPolicy", on_delete=models.CASCADE,
                               related_name="clock_bases")
    clock = models.CharField(_("deadline"), max_length=12, choices=Clock.choices)
    basis = models.CharField(_("counts"), max_length=8, choices=Basis.choices,
                             default=Basis.ELAPSED)
    calendar = models.ForeignKey(
        WorkCalendar, verbose_name=_("calendar"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("Empty: the department's calendar for department clocks, else the desk "
                    "default."),
    )

    class Meta:
        ordering = ["policy", "clock"]
        verbose_name = _("clock basis")
        verbose_name_plural = _("clock bases")
        constraints = [models.UniqueConstraint(fields=["policy", "clock"],
                                               name="clock_basis_once")]

    def __str__(self) -> str:
        return f"{self.get_clock_display()}: {self.get_basis_display()}"
