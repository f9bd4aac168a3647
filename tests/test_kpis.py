"""Every KPI against a hand-computed fixture set.

The week under test is W = Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00, Asia/Shanghai;
facts are read at NOW = Wednesday 2026-11-25 12:00 Shanghai. Cases are written with their
facts directly (the KPIs read facts, not transitions), so each expected number below can be
checked by hand against the table in ``facts``. The same tests run on PostgreSQL with
DATABASE_URL set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cases.choices import Stage
from cases.models import Case
from reporting import kpis as K
from reporting import selectors, summaries
from reporting.periods import CUSTOM, LAST_WEEK, THIS_MONTH, THIS_WEEK, resolve
from tests.factories import CaseFactory
from tests.kpi_facts import EXPECTED_W, NEXT, NOW, PREV, SH, W, at


def test_every_kpi_has_a_docstring_and_a_target_row(db):
    from reporting.models import KpiTarget

    targets = {t.code: t for t in KpiTarget.objects.all()}
    for kpi in K.KPIS:
        assert "Period taken on" in kpi.doc and "Denominator" in kpi.doc, kpi.code
        assert targets[kpi.code].direction == kpi.direction
        assert targets[kpi.code].target == kpi.default_target


def test_no_data_gives_no_value_rather_than_zero(db):
    values = K.compute(W)
    assert set(values) == {k.code for k in K.KPIS}
    assert all(v is None for v in values.values())


@pytest.mark.parametrize("code", sorted(EXPECTED_W))
def test_kpi_for_the_week(facts, code):
    assert K.compute(W)[code] == EXPECTED_W[code]


def test_volume_respects_the_shanghai_midnight_boundary(facts):
    assert K.case_rows(W)[0]["received"] == 10  # c4 at 23:30 in, c5 at 00:00 next week out
    assert K.case_rows(PREV)[0]["received"] == 4  # c6 (23:59:59) c11 c12 c14
    assert K.case_rows(NEXT)[0]["received"] == 1  # c5


def test_a_case_spanning_two_periods_counts_on_each_kpis_own_anchor(facts):
    """c6 was received in the previous week and resolved in W: handling cycle and feedback
    count it in W, first response in the previous week."""
    prev = K.case_rows(PREV)[0]
    assert prev["first_response__den"] == 4 and prev["first_response__num"] == 4
    cycle = K.case_rows(W)[0]["handling_cycle__num"]
    assert cycle == timedelta(hours=146, seconds=1)


def test_invalid_cases_are_excluded_everywhere(facts):
    before = K.compute(W)
    Case.objects.filter(pk=facts["cases"]["c7"].pk).delete()
    assert K.compute(W) == before


def test_reopened_case_counts_once_in_its_latest_round(facts):
    sums = K.case_rows(W)[0]
    # c9 counts as received and late, not as resolved, fed back or revisited.
    assert sums["handling_complete__den"] == 8 and sums["handling_complete__num"] == 3
    assert sums["revisit_done__den"] == 4  # c9's stale revisit due time is ignored
    assert sums["key_customer_recovery__den"] == 2  # c9 (key) is not closed any more


def test_next_week_sees_what_happened_then(facts):
    values = K.compute(NEXT)
    assert values["first_response"] == Decimal("100.0")  # c5
    assert values["satisfaction"] == Decimal("0.0")  # c2 scored 2 on the 24th
    assert values["handling_cycle"] is None


def test_outcomes_unknown_at_an_earlier_now_are_left_out(facts):
    early = K.Window(W.start, W.end, at(18, 12))  # Wednesday noon
    sums = K.case_rows(early)[0]
    # Unresponded c3 (due 14:00 that day), c4, c10 and c13 are not due yet: left out.
    assert sums["first_response__den"] == 6  # c1 c2 c8 c9 c15 c16 have a response
    # Only the resolved c1 c2 c8 are known; every other solution is still within its time.
    assert sums["handling_complete__den"] == 3


def test_breakdowns_roll_up_to_the_totals(facts):
    case_rows = K.case_rows(W, selectors.CASE_DIMS)
    request_rows = K.request_rows(W, selectors.REQUEST_DIMS)
    totals = {**K.case_rows(W)[0], **K.request_rows(W)[0]}
    rolled = {**K.rollup(case_rows)[None], **K.rollup(request_rows)[None]}
    assert {k: v for k, v in rolled.items() if v} == {k: v for k, v in totals.items() if v}
    tables = selectors.breakdowns(K.sums_by_dimension(case_rows, request_rows))
    fr = [k.code for k in K.KPIS].index("first_response")
    dr = [k.code for k in K.KPIS].index("department_response")
    by_channel = {r.key: r for r in tables["channel"]}
    assert by_channel["hotline"].values[fr] == Decimal("100.0")
    assert by_channel["web"].volume == 7
    by_dept = {r.key: r for r in tables["department"]}
    assert by_dept[facts["d1"].pk].values[dr] == Decimal("33.3")  # r1 on time; r4 r6 late
    assert by_dept[facts["d2"].pk].values[dr] == Decimal("0.0")  # r2 late; r3 withdrawn
    assert sum(r.volume for r in tables["tier"]) == 10


def test_weekly_trend_uses_local_weeks_and_each_kpis_anchor(facts):
    from reporting.periods import Period

    period = Period(CUSTOM, at(16).date(), at(29).date(), at(2).date(), at(15).date())
    weeks = {w["week"]: w for w in selectors.weekly_trend(period.trend_window(NOW, 3))}
    assert list(weeks) == [at(9).date(), at(16).date(), at(23).date()]
    assert [w["volume"] for w in weeks.values()] == [4, 10, 1]
    for code, value in EXPECTED_W.items():
        assert weeks[at(16).date()]["values"][code] == value, code
    assert weeks[at(23).date()]["values"]["satisfaction"] == Decimal("0.0")


def test_dashboard_change_from_previous_period(facts, django_assert_max_num_queries):
    from reporting.periods import Period

    period = Period(CUSTOM, at(16).date(), at(22).date(), at(9).date(), at(15).date())
    summaries.refresh(now=NOW)
    with django_assert_max_num_queries(14):
        board = selectors.dashboard(period, NOW)
    lines = {line.kpi.code: line for line in board.lines}
    assert board.volume == 10 and board.previous_volume == 4
    fr = lines["first_response"]
    assert fr.value == Decimal("22.2") and fr.previous == Decimal("100.0")
    assert fr.change == Decimal("-77.8") and fr.improved is False and fr.status == "missed"
    assert lines["late_handling"].status == "missed"
    assert lines["satisfaction"].status == "missed"
    esc = lines["slow_response_escalation"]
    assert esc.previous == Decimal("0.0") and esc.status == "missed"  # rose from 0 to 30 %


def test_periods_are_local_calendar_units():
    today = at(25).date()  # a Wednesday
    week = resolve(THIS_WEEK, today=today)
    assert (week.first, week.last, week.previous_first) == (at(23).date(), at(29).date(),
                                                           at(16).date())
    assert resolve(LAST_WEEK, today=today).first == at(16).date()
    month = resolve(THIS_MONTH, today=today)
    assert (month.first.day, month.last.day, month.previous_first.month) == (1, 30, 10)
    window = week.window(NOW)
    assert window.start.utcoffset() == timedelta(hours=8)
    assert window.start == datetime(2026, 11, 22, 16, 0, tzinfo=ZoneInfo("UTC"))


def test_kpis_follow_the_real_services(db, supervisor):
    """A case walked through the services to a satisfied close counts as on time and
    satisfied this week."""
    CaseFactory(stage=Stage.CLOSED, key_customer=True)
    from django.utils import timezone

    period = resolve(THIS_WEEK, today=timezone.localtime(timezone.now(), SH).date())
    values = K.compute(period.window(timezone.now()))
    assert values["satisfaction"] == Decimal("100.0")
    assert values["key_customer_recovery"] == Decimal("100.0")
    assert values["handling_complete"] == Decimal("100.0")
    assert values["feedback_on_time"] == Decimal("100.0")
    assert values["tier_accuracy"] == Decimal("100.0")
