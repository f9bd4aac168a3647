"""The official China calendar ("cn", Asia/Shanghai, Mon-Fri 09:00-12:00 and 13:30-18:00) as
the desk default, with the official 2025 and 2026 holidays and make-up workdays from
chinese-calendar, so working-time clocks work out of the box. Later years:
``manage.py calendar load --year YYYY`` once the State Council publishes them and the library
has them."""

from datetime import time
from importlib.metadata import version

import chinese_calendar
from django.db import migrations
from django.utils import timezone

SEEDED_YEARS = (2025, 2026)


def create(apps, schema_editor):
    WorkCalendar = apps.get_model("cases", "WorkCalendar")
    WorkingPeriod = apps.get_model("cases", "WorkingPeriod")
    CalendarDay = apps.get_model("cases", "CalendarDay")
    CalendarYear = apps.get_model("cases", "CalendarYear")
    DeskSettings = apps.get_model("cases", "DeskSettings")
    calendar, created = WorkCalendar.objects.get_or_create(
        code="cn", defaults={"name": "中国法定工作日", "name_en": "China official working days",
                             "time_zone": "Asia/Shanghai", "source": "chinese_calendar"})
    if created:
        WorkingPeriod.objects.bulk_create([
            WorkingPeriod(calendar=calendar, weekday=weekday, start=start, end=end)
            for weekday in range(5)
            for start, end in ((time(9), time(12)), (time(13, 30), time(18)))
        ])
    settings, _created = DeskSettings.objects.get_or_create(pk=1)
    if settings.default_calendar_id is None:
        settings.default_calendar = calendar
        settings.save(update_fields=["default_calendar"])
    source = f"chinese_calendar {version('chinese-calendar')}"
    for year in SEEDED_YEARS:
        if CalendarYear.objects.filter(calendar=calendar, year=year).exists():
            continue
        holidays = [(d, n) for d, n in chinese_calendar.holidays.items() if d.year == year]
        workdays = [(d, n) for d, n in chinese_calendar.workdays.items() if d.year == year]
        CalendarDay.objects.bulk_create(
            [CalendarDay(calendar=calendar, date=d, kind="holiday", name=n, source=source)
             for d, n in holidays]
            + [CalendarDay(calendar=calendar, date=d, kind="workday", name=n, source=source)
               for d, n in workdays],
            ignore_conflicts=True,
        )
        CalendarYear.objects.create(
            calendar=calendar, year=year, source="chinese_calendar",
            version=version("chinese-calendar"), holidays=len(holidays),
            workdays=len(workdays), loaded_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("cases", "0019_work_calendars")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
