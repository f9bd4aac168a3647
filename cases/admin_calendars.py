"""Admin of the working calendars (issue 14): working hours, holidays and make-up workdays
inline; the years of official data with their source and version, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from cases.models import CalendarDay, CalendarYear, ClockBasis, WorkCalendar, WorkingPeriod


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0
    fields = ("date", "kind", "name", "source")


class CalendarYearInline(admin.TabularInline):
    model = CalendarYear
    extra = 0
    fields = ("year", "source", "version", "holidays", "workdays", "loaded_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WorkCalendar)
class WorkCalendarAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "time_zone", "source")
    search_fields = ("code", "name", "name_en")
    inlines = (WorkingPeriodInline, CalendarYearInline, CalendarDayInline)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Loaded by ``manage.py calendar load``; shown, never edited by hand."""

    list_display = ("calendar", "year", "source", "version", "holidays", "workdays",
                    "loaded_at")
    list_filter = ("calendar", "source")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ClockBasisInline(admin.TabularInline):
    """Per clock of the tier: elapsed time (no row) or working time on a calendar."""

    model = ClockBasis
    extra = 0
    fields = ("clock", "basis", "calendar")
