"""Measure the working-time engine and the ``calendar due`` command (issue 14).

Prints, on the official China calendar ("cn", seeded with 2025-2026):
  0. (reads only: the migration loads 2025-2026 into "cn"; starts spread over early 2025)
  1. building a schedule (the 3 queries and the years' arrays: what a process pays once),
  2. ``add_working_days`` for spans 1..400 working days and ``add_working_minutes`` for the
     same spans in minutes, from starts spread over 2024, on a warm schedule: median and max
     per call (target: under 50 ms each), and ``working_minutes_between`` the same way,
  3. the same spans on a cold schedule (a fresh process: the years are built on first use),
  4. the command in process (call_command: its queries, the engine, the output),
  5. with ``--subprocess``: the wall time of ``python manage.py calendar due ...`` as
     operators run it (process start, Django setup, the queries and the answer).
Prints figures; asserts nothing. SQLite (the default) or DATABASE_URL.

    python bench/bench_calendar.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")

try:
    from bench import harness
except ImportError:
    import harness  # type: ignore[no-redef]

SPANS = (1, 5, 10, 30, 100, 200, 300, 400)
CN = ZoneInfo("Asia/Shanghai")


def ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.3f} ms, max {max(seconds) * 1000:.3f} ms"


def starts(repeat: int) -> list[datetime]:
    first = datetime(2025, 1, 2, 9, tzinfo=CN)
    step = timedelta(minutes=(100 * 24 * 60) // repeat)  # over the first 100 days of 2025
    return [first + step * i for i in range(repeat)]


def timed(call, args: list) -> list[float]:  # noqa: ANN001
    out = []
    for arg in args:
        began = time.perf_counter()
        call(arg)
        out.append(time.perf_counter() - began)
    return out


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--subprocess", action="store_true",
                        help="also time `manage.py calendar due` as a new process (5.)")
    args = parser.parse_args(argv)
    harness.setup()
    from django.core.management import call_command

    from cases.models import WorkCalendar
    from cases.worktime.calendars import load_schedule

    calendar = WorkCalendar.objects.filter(code="cn").first()
    if calendar is None or not calendar.years.filter(year__in=(2025, 2026)).count() == 2:
        raise harness.Refused("The calendar 'cn' with 2025 and 2026 loaded is missing (migration "
                              "0020 creates it): nothing to measure.")
    rows: list[harness.Row] = []
    began = time.perf_counter()
    schedule = load_schedule(calendar)
    loaded = time.perf_counter() - began
    began = time.perf_counter()
    schedule.add_working_days(datetime(2025, 1, 2, tzinfo=CN), 420)  # builds 2025-2026
    built = time.perf_counter() - began
    print(f"1. schedule read in {loaded * 1000:.1f} ms; years 2025-2026 built in "
          f"{built * 1000:.1f} ms")
    rows.append(harness.row("working-time schedule read + built", [(loaded + built) * 1000],
                            None, None))

    points = starts(args.repeat)
    print(f"2. warm schedule, {args.repeat} starts per span:")
    for days in SPANS:
        by_days = timed(lambda s, d=days: schedule.add_working_days(s, d), points)
        minutes = days * 450  # 7.5 working hours a day
        by_minutes = timed(lambda s, m=minutes: schedule.add_working_minutes(s, m), points)
        ends = [schedule.add_working_minutes(s, minutes) for s in points]
        between = timed(lambda pair: schedule.working_minutes_between(*pair),
                        list(zip(points, ends, strict=True)))
        print(f"   {days:>3} working days: days {ms(by_days)}; minutes {ms(by_minutes)}; "
              f"between {ms(between)}")
        if days == SPANS[-1]:
            rows.append(harness.row(f"add {days} working days (warm)",
                                    [t * 1000 for t in by_days], None, 50))

    print("3. cold schedule (a new process's first call), 400 working days:")
    cold = []
    for start in points[:20]:
        fresh = load_schedule(calendar)
        began = time.perf_counter()
        fresh.add_working_days(start, 400)
        cold.append(time.perf_counter() - began)
    print(f"   {ms(cold)} (the database read excluded)")

    from io import StringIO

    in_process = []
    for _ in range(20):
        began = time.perf_counter()
        call_command("calendar", "due", "--start", "2025-01-02 10:00", "--working-days", "400",
                     stdout=StringIO())
        in_process.append(time.perf_counter() - began)
    print(f"4. `calendar due --working-days 400` in process (queries + engine + output): "
          f"{ms(in_process)}")
    rows.append(harness.row("`calendar due` in process", [t * 1000 for t in in_process], None,
                            None))
    if not args.subprocess:
        return rows

    setup_only = [sys.executable, "-c", "import django; django.setup()"]
    command = [sys.executable, str(ROOT / "manage.py"), "calendar", "due", "--start",
               "2025-01-02 10:00", "--working-days", "400"]
    walls, setups = [], []
    for _ in range(5):
        began = time.perf_counter()
        subprocess.run(setup_only, capture_output=True, check=True, env={**os.environ})
        setups.append(time.perf_counter() - began)
        began = time.perf_counter()
        answer = subprocess.run(command, capture_output=True, text=True, check=True,
                                env={**os.environ}).stdout.strip()
        walls.append(time.perf_counter() - began)
    print(f"5. `manage.py calendar due --working-days 400` -> {answer}: wall {ms(walls)}; "
          f"a bare `django.setup()` process: {ms(setups)}")
    rows.append(harness.row("`manage.py calendar due` process", [t * 1000 for t in walls],
                            None, None))
    return rows


if __name__ == "__main__":
    harness.main_for(run)
