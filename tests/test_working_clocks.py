"""Per-clock basis (issue 14): a clock of a tier counts elapsed time (the default: the seeds'
hours stay as they are) or working time on a calendar; due and at-risk in that basis."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.choices import (
    Basis,
    Clock,
    Difficulty,
    Role,
    Scope,
    SlaState,
    Stage,
    Tier,
    Urgency,
)
from cases.models import CalendarYear, CaseDeadline, ClockBasis, SlaPolicy, WorkCalendar
from cases.services import collaboration as collab
from cases.services.sweeps import deadline_sweep
from cases.worktime import calendars, schedule_for
from reporting import kpis as K
from reporting.periods import CUSTOM, resolve
from tests.factories import CaseFactory, UserFactory, advance
from tests.test_intake_service import data

CN = ZoneInfo("Asia/Shanghai")
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 17, tzinfo=CN)

pytestmark = pytest.mark.django_db


def working(clock: str, *, tier: int = Tier.ROUTINE, calendar: WorkCalendar | None = None):
    return ClockBasis.objects.create(policy=SlaPolicy.objects.get(tier=tier), clock=clock,
                                     basis=Basis.WORKING, calendar=calendar)


def received(at: datetime = BEFORE_NATIONAL_DAY):
    case = services.case_intake(actor=None, data=data(received_at=at)).case
    assert case.suggested_tier == Tier.ROUTINE  # 240 min response, 4320 min solution
    return case


def test_a_working_response_clock_is_due_in_working_hours_after_the_holiday():
    working(Clock.RESPONSE)
    case = received()
    row = case.deadlines.get(clock=Clock.RESPONSE)
    # 240 working minutes: 17:00-18:00 on Sep 30, then Oct 8 09:00-12:00.
    assert row.due_at == datetime(2026, 10, 8, 12, tzinfo=CN) == case.response_due_at
    # at risk after 75 % = 180 working minutes: Oct 8 11:00.
    assert row.risk_at == datetime(2026, 10, 8, 11, tzinfo=CN)
    assert (row.basis, row.calendar.code) == (Basis.WORKING, "cn")
    solution = case.deadlines.get(clock=Clock.SOLUTION)
    assert solution.basis == Basis.ELAPSED and solution.calendar is None
    assert solution.due_at == BEFORE_NATIONAL_DAY + timedelta(minutes=4320)


def test_elapsed_policies_are_unchanged():
    case = received()
    rows = {row.clock: row for row in case.deadlines.all()}
    assert {row.basis for row in rows.values()} == {Basis.ELAPSED}
    assert rows[Clock.RESPONSE].due_at == BEFORE_NATIONAL_DAY + timedelta(minutes=240)
    assert rows[Clock.RESPONSE].risk_at == BEFORE_NATIONAL_DAY + timedelta(minutes=180)


def test_the_sweep_marks_risk_and_breach_at_the_working_instants():
    working(Clock.RESPONSE)
    case = received()
    deadline_sweep(now=datetime(2026, 10, 2, 12, tzinfo=CN), notify=False)  # the holiday
    row = case.deadlines.get(clock=Clock.RESPONSE)
    assert row.state == SlaState.ON_TIME  # elapsed time would have breached on Sep 30
    deadline_sweep(now=datetime(2026, 10, 8, 11, 30, tzinfo=CN), notify=False)
    row.refresh_from_db()
    assert row.state == SlaState.AT_RISK
    deadline_sweep(now=datetime(2026, 10, 8, 12, 1, tzinfo=CN), notify=False)
    row.refresh_from_db()
    assert row.state == SlaState.BREACHED


def test_a_working_clock_on_its_own_calendar():
    shop = WorkCalendar.objects.create(code="shop", name="Shop", time_zone="Asia/Shanghai")
    for weekday in range(7):
        shop.periods.create(weekday=weekday, start=time(10), end=time(22))
    working(Clock.RESPONSE, calendar=shop)
    row = received().deadlines.get(clock=Clock.RESPONSE)
    assert row.due_at == datetime(2026, 9, 30, 21, tzinfo=CN)  # open on the holiday too
    assert row.calendar == shop


def test_a_triage_to_another_tier_retimes_each_clock_in_its_basis(frontline):
    working(Clock.RESPONSE, tier=Tier.URGENT)
    case = received()
    services.case_triage(actor=frontline, case_id=case.pk, urgency=Urgency.EMERGENCY,
                         scope=Scope.INDIVIDUAL, difficulty=Difficulty.FRONTLINE,
                         tier=Tier.URGENT)
    row = case.deadlines.get(clock=Clock.RESPONSE)
    assert row.basis == Basis.WORKING
    assert row.due_at == datetime(2026, 9, 30, 18, tzinfo=CN)  # 60 working minutes


def test_the_department_clock_runs_on_the_department_s_calendar(dept_tree):
    night = WorkCalendar.objects.create(code="night", name="Night shift", time_zone="UTC")
    for weekday in range(7):
        night.periods.create(weekday=weekday, start=time(0), end=time(4))
    logistics = dept_tree["logistics"]
    logistics.calendar = night
    logistics.save(update_fields=["calendar"])
    working(Clock.DEPARTMENT)
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    agent.department = dept_tree["cs"]
    agent.save(update_fields=["department"])
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    req = collab.request_create(actor=agent, case_id=case.pk, department=logistics, ask="核实")
    row = CaseDeadline.objects.get(request=req)
    assert (row.basis, row.calendar) == (Basis.WORKING, night)
    assert schedule_for(night).working_minutes_between(row.started_at, row.due_at) == 1440


def test_a_year_without_official_data_falls_back_to_elapsed_and_logs(caplog):
    """Intake never fails for want of a calendar year: the clock counts elapsed time, the
    row says so, and the error is logged for the admin to load the year."""
    working(Clock.RESPONSE)
    CalendarYear.objects.filter(year=2026).delete()
    with caplog.at_level(logging.ERROR, logger="cases.services.clocks"):
        case = received()
    row = case.deadlines.get(clock=Clock.RESPONSE)
    assert row.basis == Basis.ELAPSED and row.calendar is None
    assert row.due_at == BEFORE_NATIONAL_DAY + timedelta(minutes=240)
    assert "no holiday data for 2026" in caplog.text


def test_working_clocks_add_no_query_to_intake_once_cached():
    working(Clock.RESPONSE)
    received()  # warms the configuration and the schedule
    with CaptureQueriesContext(connection) as ctx:
        received(BEFORE_NATIONAL_DAY + timedelta(minutes=1))
    tables = ("cases_workcalendar", "cases_workingperiod", "cases_calendarday",
              "cases_calendaryear", "cases_clockbasis", "cases_desksettings")
    assert not [q for q in ctx.captured_queries if any(t in q["sql"] for t in tables)]


# --- the cache of schedules -------------------------------------------------------------------

def _office(code: str = "office") -> WorkCalendar:
    calendar = WorkCalendar.objects.create(code=code, name="Office", time_zone="Asia/Shanghai")
    calendar.periods.create(weekday=0, start=time(9), end=time(17))
    return calendar


def test_the_schedule_is_read_once_then_reused():
    calendar = _office()
    schedule_for(calendar.pk)
    with CaptureQueriesContext(connection) as ctx:
        schedule_for(calendar.pk)
    assert len(ctx.captured_queries) == 0


def test_an_admin_save_of_the_working_hours_applies_at_once(client, admin_user,
                                                             django_capture_on_commit_callbacks):
    calendar = _office()
    period = calendar.periods.get()
    monday = datetime(2026, 12, 7, 9, tzinfo=CN)
    assert schedule_for(calendar.pk).add_working_minutes(monday, 480).hour == 17
    before = cache.get(calendars.VERSION_KEY)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/cases/workcalendar/{calendar.pk}/change/", {
            "code": "office", "name": "Office", "name_en": "", "time_zone": "Asia/Shanghai",
            "source": "manual",
            "periods-TOTAL_FORMS": "1", "periods-INITIAL_FORMS": "1",
            "periods-0-id": str(period.pk), "periods-0-calendar": str(calendar.pk),
            "periods-0-weekday": "0", "periods-0-start": "09:00", "periods-0-end": "18:00",
            "years-TOTAL_FORMS": "0", "years-INITIAL_FORMS": "0",
            "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0",
        })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert schedule_for(calendar.pk).add_working_minutes(monday, 480).hour == 17
    assert schedule_for(calendar.pk).add_working_minutes(monday, 540).hour == 18
    assert cache.get(calendars.VERSION_KEY) != before  # other processes reload too


def test_another_process_s_save_is_seen_through_the_shared_version(monkeypatch):
    calendar = _office()
    schedule_for(calendar.pk)
    WorkCalendar.objects.filter(pk=calendar.pk).update(time_zone="UTC")  # no signal
    monkeypatch.setattr(calendars, "CHECK_EVERY", 0.0)
    cache.set(calendars.VERSION_KEY, "saved-elsewhere", None)
    assert str(schedule_for(calendar.pk).time_zone) == "UTC"


def test_the_admin_shows_calendars_and_the_clock_basis_inline(client, admin_user):
    client.force_login(admin_user)
    cn = WorkCalendar.objects.get(code="cn")
    page = client.get(f"/admin/cases/workcalendar/{cn.pk}/change/").content.decode()
    assert "chinese_calendar" in page and "1.11.0" in page and "2026-10-10" in page
    policy = SlaPolicy.objects.get(tier=Tier.URGENT)
    page = client.get(f"/admin/cases/slapolicy/{policy.pk}/change/").content.decode()
    assert "clock_bases-TOTAL_FORMS" in page
    assert client.get("/admin/cases/calendaryear/").status_code == 200


# --- the KPIs read the due times in each clock's basis ------------------------------------------

@pytest.mark.parametrize("basis, on_time", [(Basis.WORKING, Decimal("100.0")),
                                            (Basis.ELAPSED, Decimal("0.0"))])
def test_first_response_on_time_follows_the_clock_s_basis(basis, on_time):
    """Answered on the first working morning after National Day: on time in working time
    (due Oct 8 12:00), breached in elapsed time (due Sep 30 21:00), as before issue 14."""
    if basis == Basis.WORKING:
        working(Clock.RESPONSE)
    with time_machine.travel(BEFORE_NATIONAL_DAY, tick=False):
        case = received()
    with time_machine.travel(datetime(2026, 10, 8, 10, 30, tzinfo=CN), tick=False):
        advance(case, Stage.IN_PROGRESS)  # the first contact with the customer
    period = resolve(CUSTOM, today=date(2026, 10, 8), first=date(2026, 9, 28),
                     last=date(2026, 10, 11))
    values = K.compute(period.window(datetime(2026, 10, 12, tzinfo=CN)))
    assert values["first_response"] == on_time


def test_the_board_request_page_counts_down_the_department_clock_in_working_time(
        client, dept_tree):
    working(Clock.DEPARTMENT)
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    agent.department = dept_tree["cs"]
    agent.save(update_fields=["department"])
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    with time_machine.travel(BEFORE_NATIONAL_DAY, tick=False):
        req = collab.request_create(actor=agent, case_id=case.pk,
                                    department=dept_tree["logistics"], ask="核实")
        client.force_login(req.department.liaison)
        page = client.get(reverse("board:request", args=[req.pk])).content.decode()
    due = page.split('data-testid="request-due"')[0].rsplit("<span", 1)[1]
    assert 'data-basis="working"' in due
    assert "working hours" in page.split('data-testid="request-due"')[1][:300]
