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

from cases.choices import Stage, Tier
from cases.models import Case, CaseTransition, CollaborationRequest
from cases.models.collaboration import RequestStatus
from reporting import kpis as K
from reporting import selectors
from reporting.periods import CUSTOM, LAST_WEEK, THIS_MONTH, THIS_WEEK, resolve
from tests.factories import CaseFactory, CustomerFactory, DepartmentFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SH)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SH)


W = K.Window(at(16), at(23), NOW)
PREV = K.Window(at(9), at(16), NOW)
NEXT = K.Window(at(23), at(30), NOW)


def make(customer, *, received_at, tier=Tier.ROUTINE, stage=Stage.IN_PROGRESS, **facts) -> Case:
    hours = {Tier.URGENT: 1, Tier.IMPORTANT: 2}.get(tier, 4)
    values = {
        "tracking_code": "T", "customer": customer, "channel": "web", "category": "delivery",
        "subject": "s", "description": "d", "received_at": received_at, "tier": tier,
        "stage": stage, "response_due_at": received_at + timedelta(hours=hours),
        "solution_due_at": received_at + timedelta(hours=72),
    }
    values.update(facts)
    return Case.objects.create(**values)


@pytest.fixture
def facts(db):
    """The hand-computed set (times Shanghai, November 2026; W = 16th to 22nd)."""
    plain, key, key2 = CustomerFactory(), CustomerFactory(is_key_customer=True), CustomerFactory(
        is_key_customer=True)
    d1, d2 = DepartmentFactory(code="logistics"), DepartmentFactory(code="billing")
    boss = UserFactory(username="kpi-boss")
    c = {}
    # c1: everything on time; hotline, billing, tier 2, key customer, closed satisfied in W.
    c["c1"] = make(key, received_at=at(16, 10), tier=Tier.IMPORTANT, channel="hotline",
                   category="billing", department=d1, first_responded_at=at(16, 10, 30),
                   resolved_at=at(17, 10), feedback_due_at=at(18, 10),
                   feedback_given_at=at(17, 15), revisit_due_at=at(19, 15),
                   revisit_done_at=at(19, 16), satisfaction_score=5, satisfied=True,
                   closed_at=at(19, 16), stage=Stage.CLOSED)
    # c2: late response, late resolution, feedback on time, dissatisfied revisit next week.
    c["c2"] = make(plain, received_at=at(17, 9), first_responded_at=at(17, 15),
                   response_breached=True, ever_breached=True, resolved_at=at(21, 10),
                   feedback_due_at=at(22, 10), feedback_given_at=at(22, 9),
                   revisit_due_at=at(24, 9), revisit_done_at=at(24, 10), satisfaction_score=2,
                   satisfied=False, stage=Stage.FOLLOW_UP)
    # c3: never responded, solution overdue.
    c["c3"] = make(plain, received_at=at(18, 10), stage=Stage.TRIAGED)
    # c4: Sunday 23:30 Shanghai (15:30 UTC) is still W; solution still within its time.
    c["c4"] = make(plain, received_at=at(22, 23, 30), solution_due_at=at(25, 23, 30))
    # c5: Monday 00:00 Shanghai (Sunday 16:00 UTC) is the next week, not W.
    c["c5"] = make(plain, received_at=at(23), first_responded_at=at(23, 1))
    # c6: received in the previous week one second before midnight, resolved in W.
    c["c6"] = make(plain, received_at=at(15, 23, 59, 59), first_responded_at=at(16, 0, 30),
                   resolved_at=at(16, 1), feedback_due_at=at(17, 1),
                   feedback_given_at=at(17, 2), revisit_due_at=at(19, 2),
                   revisit_done_at=at(20, 10), satisfaction_score=4, satisfied=True,
                   closed_at=at(20, 10), stage=Stage.CLOSED)
    # c7: invalid (withdrawn): on time everywhere, yet excluded from everything.
    c["c7"] = make(key, received_at=at(17, 10), first_responded_at=at(17, 10, 5),
                   resolved_at=at(17, 12), feedback_due_at=at(18, 12),
                   feedback_given_at=at(17, 13), revisit_due_at=at(19, 13),
                   revisit_done_at=at(19, 14), satisfaction_score=1, satisfied=False,
                   closed_at=at(19, 14), stage=Stage.INVALID, retiered=True)
    # c8: re-tiered upward but responded on time; feedback overdue.
    c["c8"] = make(plain, received_at=at(18, 11), tier=Tier.IMPORTANT, retiered=True,
                   channel="app", category="product_quality", department=d2,
                   first_responded_at=at(18, 12), resolved_at=at(19, 11),
                   feedback_due_at=at(20, 11), stage=Stage.RESOLVED)
    # c9: slow response, closed, then reopened on the 20th (latest round: unresolved).
    c["c9"] = make(key, received_at=at(16, 12), first_responded_at=at(16, 17),
                   response_breached=True, reopen_count=1, solution_due_at=at(23, 12),
                   feedback_due_at=at(18, 12), revisit_due_at=at(19, 12))
    # c10: untriaged (tier 0), never responded.
    c["c10"] = make(plain, received_at=at(19, 8), tier=Tier.UNTRIAGED, stage=Stage.RECEIVED)
    # c11: key customer from the previous week, closed in W after a dissatisfied revisit.
    c["c11"] = make(key2, received_at=at(9, 10), first_responded_at=at(9, 11),
                    resolved_at=at(10, 10), feedback_due_at=at(11, 10),
                    feedback_given_at=at(11, 9), revisit_due_at=at(13, 9),
                    revisit_done_at=at(13, 10), satisfaction_score=3, satisfied=False,
                    follow_up_done_at=at(17, 10), closed_at=at(17, 10), stage=Stage.CLOSED)
    # c12: revisit fell due in W and was not done.
    c["c12"] = make(plain, received_at=at(10, 10), first_responded_at=at(10, 11),
                    resolved_at=at(15, 10), feedback_due_at=at(16, 10),
                    feedback_given_at=at(16, 9), revisit_due_at=at(18, 10),
                    stage=Stage.REVISIT)
    # c13: response clock still running at NOW (a long policy): outcome unknown.
    c["c13"] = make(plain, received_at=at(22, 23, 50), response_due_at=at(25, 13),
                    solution_due_at=at(28, 10), stage=Stage.TRIAGED)
    # c14: previous week's case, revisit due and done in W with score 3.
    c["c14"] = make(plain, received_at=at(12, 10), first_responded_at=at(12, 11),
                    resolved_at=at(13, 10), feedback_due_at=at(14, 10),
                    feedback_given_at=at(14, 9), revisit_due_at=at(16, 10),
                    revisit_done_at=at(16, 11), satisfaction_score=3, satisfied=False,
                    stage=Stage.FOLLOW_UP)
    # c15: slow response, then re-tiered upward (3 -> 1): an escalation.
    c["c15"] = make(plain, received_at=at(20, 10), tier=Tier.URGENT, retiered=True,
                    channel="wechat", category="product_quality", department=d1,
                    response_due_at=at(20, 14), first_responded_at=at(20, 15),
                    response_breached=True)
    # c16: slow response, re-tiered downward (2 -> 3): not an escalation.
    c["c16"] = make(plain, received_at=at(20, 11), retiered=True, first_responded_at=at(20, 16),
                    response_breached=True)
    for case, source, target in ((c["c15"], "3", "1"), (c["c16"], "2", "3"), (c["c8"], "3", "2")):
        CaseTransition.objects.create(case=case, field="tier", name="retier", source=source,
                                      target=target, actor=boss, at=case.received_at)
    CaseTransition.objects.create(case=c["c1"], field="tier", name="confirm_tier", source="0",
                                  target="2", actor=boss, at=at(16, 10))

    def request(case, dept, created, **kw):
        return CollaborationRequest.objects.create(
            case=case, department=dept, requested_by=boss, ask="?", created_at=created,
            due_at=created + timedelta(hours=24), **kw)

    request(c["c2"], d1, at(17, 10), answered_at=at(17, 20), status=RequestStatus.ANSWERED)
    request(c["c3"], d2, at(18, 11), answered_at=at(19, 12), status=RequestStatus.ANSWERED)
    request(c["c8"], d2, at(18, 12), status=RequestStatus.WITHDRAWN, closed_at=at(18, 18))
    request(c["c8"], d1, at(19, 12))
    request(c["c7"], d1, at(17, 11), answered_at=at(17, 12), status=RequestStatus.ANSWERED)
    request(c["c4"], d1, at(22, 23, 40))
    return {"cases": c, "d1": d1, "d2": d2}


EXPECTED_W = {
    # received in W (not invalid): c1 c2 c3 c4 c8 c9 c10 c13 c15 c16
    "first_response": Decimal("22.2"),  # on time c1 c8 / known c1 c2 c3 c4 c8 c9 c10 c15 c16
    "handling_complete": Decimal("37.5"),  # resolved c1 c2 c8 / due: + c3 c9 c10 c15 c16
    "late_handling": Decimal("75.0"),  # c2 c3 c9 c10 c15 c16 / 8
    "feedback_on_time": Decimal("50.0"),  # resolved in W: c1 c2 on time; c6 c8 late
    "revisit_done": Decimal("75.0"),  # due in W: c1 c6 c14 done, c12 not
    "satisfaction": Decimal("66.7"),  # answered in W: c1 (5) c6 (4) c14 (3)
    "tier_accuracy": Decimal("66.7"),  # tiered: 9 (not c10); re-tiered c8 c15 c16
    "slow_response_escalation": Decimal("30.0"),  # c2 (dissatisfied) c9 (reopened) c15 (up)
    "key_customer_recovery": Decimal("50.0"),  # closed in W, key: c1 satisfied, c11 not
    "department_response": Decimal("25.0"),  # r1 on time; r2 r4 r6 late; r3 r5 excluded
    "handling_cycle": Decimal("36.5"),  # (24 + 97 + 24 + 1.0003) h / 4
}


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
    tables = selectors.breakdowns(case_rows, request_rows)
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
    with django_assert_max_num_queries(20):
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
