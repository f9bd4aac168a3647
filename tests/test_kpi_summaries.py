"""The dashboard's KPI day sums (reporting.summaries): the hand-computed week of test_kpis
read from the sums, the sums against the live aggregates after every kind of change (a
service, ``save()``, ``queryset.update()``, deletion, the key-customer flag, time passing),
and the fallbacks (a long backlog, a clock set back, a new time zone)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.choices import Stage, Tier
from cases.models import Case, CollaborationRequest, Customer
from reporting import kpis as K
from reporting import selectors, summaries
from reporting.kpis import queries
from reporting.models import CaseKpiFact, KpiDaySum, KpiQueue
from reporting.periods import CUSTOM, Period
from reporting.summaries import refreshing
from reporting.tasks import kpi_summaries_task
from tests.factories import CaseFactory, CustomerFactory, DepartmentFactory, UserFactory, root_cause
from tests.kpi_facts import EXPECTED_W, NOW, SH, W, at, make

WEEK = Period(CUSTOM, at(16).date(), at(22).date(), at(9).date(), at(15).date())
MONTH_FIRST, MONTH_LAST = at(1).date(), at(30).date()


def values(period: Period, now=NOW) -> dict:
    return {line.kpi.code: line.value for line in selectors.dashboard(period, now).lines}


def agree(now=NOW) -> list[str]:
    summaries.refresh(now=now)
    return summaries.compare(MONTH_FIRST, MONTH_LAST, now)


@pytest.fixture
def no_live(monkeypatch):
    """Fail if anything aggregates over the cases (the dashboard must read the sums)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard scanned the cases instead of the day sums")

    for module in (K, queries):
        monkeypatch.setattr(module, "case_rows", refuse)
        monkeypatch.setattr(module, "case_day_rows", refuse)


def test_the_hand_computed_week_comes_from_the_sums(facts, no_live):
    summaries.refresh(now=NOW)
    assert values(WEEK) == EXPECTED_W


def test_sums_match_live_aggregates_per_day_dimension_and_root_cause(facts):
    Case.objects.filter(pk=facts["cases"]["c1"].pk).update(root_cause=root_cause())
    assert agree() == []
    assert KpiDaySum.objects.filter(dim="tier").exists()
    # The breakdowns equal those of the live path, value by value.
    live = selectors.breakdowns(K.sums_by_dimension(K.case_rows(W, selectors.CASE_DIMS),
                                                    K.request_rows(W, selectors.REQUEST_DIMS)))
    summed = selectors.dashboard(WEEK, NOW).breakdowns
    assert {d: [(r.key, r.volume, r.values) for r in rows] for d, rows in summed.items()} == {
        d: [(r.key, r.volume, r.values) for r in rows] for d, rows in live.items()}


def test_a_clock_falling_due_changes_the_counts_without_any_write(facts):
    early = at(18, 12)  # Wednesday noon: c3, c4, c10, c13 are not due yet
    summaries.refresh(now=early)
    assert summaries.compare(MONTH_FIRST, MONTH_LAST, early) == []
    assert KpiQueue.objects.count() == 0
    assert CaseKpiFact.objects.filter(next_flip_at__lte=NOW).exists()
    # Time passes: the flipped facts are recomputed, nothing else.
    result = summaries.refresh(now=NOW)
    assert 0 < result.cases < Case.objects.count()
    assert summaries.compare(MONTH_FIRST, MONTH_LAST, NOW) == []
    assert values(WEEK) == EXPECTED_W


def test_every_kind_of_change_reaches_the_sums(facts):
    c = facts["cases"]
    assert agree() == []
    # queryset.update() of a breakdown field and of a clock
    Case.objects.filter(pk=c["c1"].pk).update(category="billing", channel="app")
    Case.objects.filter(pk=c["c3"].pk).update(first_responded_at=at(18, 10, 30))
    assert agree() == []
    # save() moving a case to another department and resolving it late
    case = Case.objects.get(pk=c["c8"].pk)
    case.department = facts["d1"]
    case.root_cause = root_cause()
    case.save()
    assert agree() == []
    # a reopening clears the resolution facts (as case_reopen does)
    Case.objects.filter(pk=c["c6"].pk).update(
        resolved_at=None, feedback_given_at=None, revisit_done_at=None, closed_at=None,
        satisfaction_score=None, reopen_count=1, solution_due_at=at(27))
    assert agree() == []
    # invalid, deleted, and a customer who becomes a key customer
    Case.objects.filter(pk=c["c2"].pk).update(stage=Stage.INVALID)
    Case.objects.filter(pk=c["c16"].pk).delete()
    Customer.objects.filter(pk=c["c12"].customer_id).update(is_key_customer=True)
    assert agree() == []
    # collaboration requests: answered and moved, created, deleted
    request = CollaborationRequest.objects.filter(case=c["c8"], answered_at__isnull=True).first()
    CollaborationRequest.objects.filter(pk=request.pk).update(answered_at=at(19, 13),
                                                              department=facts["d2"])
    CollaborationRequest.objects.create(
        case=c["c4"], department=facts["d2"], requested_by=request.requested_by, ask="?",
        created_at=at(21, 10), due_at=at(22, 10))
    CollaborationRequest.objects.filter(case=c["c3"]).delete()
    assert agree() == []
    # new cases, one at a time and in bulk
    make(CustomerFactory(), received_at=at(21, 9), first_responded_at=at(21, 10))
    Case.objects.bulk_create([
        Case(tracking_code="T", customer=CustomerFactory(), channel="web", category="delivery",
             subject="s", description="d", received_at=at(17, h), response_due_at=at(17, h + 1),
             solution_due_at=at(20, h))
        for h in (1, 2, 3)
    ])
    assert agree() == []
    assert values(WEEK) == K.compute(W)


def test_real_services_reach_the_sums(db):
    now = timezone.now()
    boss = UserFactory(username="sum-boss", role="supervisor")
    closed = CaseFactory(stage=Stage.CLOSED, key_customer=True)
    open_case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.URGENT)
    today = timezone.localtime(now, SH).date()
    first, last = today - timedelta(days=7), today + timedelta(days=7)
    summaries.refresh(now=now)
    assert summaries.compare(first, last, now) == []
    services.case_reopen(actor=boss, case_id=closed.pk, reason="客户再次来电")
    services.case_retier(actor=boss, case_id=open_case.pk, tier=Tier.ROUTINE, reason="误判")
    later = timezone.now()
    summaries.refresh(now=later)
    assert summaries.compare(first, last, later) == []


def test_deadline_state_updates_do_not_queue_but_kpi_columns_do(facts):
    summaries.refresh(now=NOW)
    Case.objects.update(sla_state="breached", ever_breached=True, next_due_at=at(30))
    assert KpiQueue.objects.count() == 0
    Case.objects.filter(pk=facts["cases"]["c4"].pk).update(response_breached=True)
    assert list(KpiQueue.objects.values_list("case_id", flat=True)) == [facts["cases"]["c4"].pk]


def test_refreshing_twice_or_recomputing_everything_changes_nothing(facts):
    summaries.refresh(now=NOW)
    before = list(KpiDaySum.objects.order_by("day", "dim", "key").values())
    KpiQueue.objects.bulk_create([KpiQueue(case_id=pk) for pk in Case.objects.values_list(
        "pk", flat=True)])
    result = summaries.refresh(now=NOW)
    assert result.cases == Case.objects.count() and result.changed == 0
    assert list(KpiDaySum.objects.order_by("day", "dim", "key").values()) == before
    summaries.rebuild(now=NOW)
    assert [{k: v for k, v in r.items() if k != "id"} for r in
            KpiDaySum.objects.order_by("day", "dim", "key").values()] == [
        {k: v for k, v in r.items() if k != "id"} for r in before]


def test_a_long_backlog_is_computed_live_and_left_to_the_task(facts, monkeypatch):
    summaries.refresh(now=NOW)
    monkeypatch.setattr(refreshing, "INLINE_MAX", 2)
    Case.objects.filter(pk__in=[facts["cases"][k].pk for k in ("c1", "c2", "c3")]).update(
        category="other")
    assert summaries.catch_up(NOW) is False
    assert values(WEEK) == K.compute(W)  # exact all the same, from the cases
    assert KpiQueue.objects.count() == 3  # the page did not take on the backlog
    assert kpi_summaries_task() >= 3  # the three, and clocks that fell due since NOW
    assert KpiQueue.objects.count() == 0
    now = timezone.now()
    assert summaries.catch_up(now) is True
    assert summaries.compare(MONTH_FIRST, MONTH_LAST, now) == []


def test_a_clock_set_back_reads_live(facts):
    summaries.refresh(now=NOW)
    early = at(18, 12)
    assert summaries.catch_up(early) is False
    window = K.Window(W.start, W.end, early)
    assert values(WEEK, early) == K.compute(window)


def test_a_new_time_zone_rebuilds_the_sums(facts, settings):
    summaries.refresh(now=NOW)
    settings.TIME_ZONE = "UTC"
    result = summaries.refresh(now=NOW)
    assert result.rebuilt and result.current
    assert summaries.compare(MONTH_FIRST, MONTH_LAST, NOW) == []


def test_the_command_verifies_and_reports_differences(facts, capsys):
    call_command("kpi_summaries", "--verify", "60")
    assert "agree" in capsys.readouterr().out
    KpiDaySum.objects.filter(dim="channel").update(received=99)
    with pytest.raises(CommandError, match="differences"):
        call_command("kpi_summaries", "--verify", "60")
    call_command("kpi_summaries", "--rebuild", "--verify", "60")
    assert "agree" in capsys.readouterr().out


@pytest.mark.parametrize("days", ["-3", "5001"])
def test_the_command_refuses_a_bad_day_count(db, days):
    with pytest.raises(CommandError, match="between"):
        call_command("kpi_summaries", "--verify", days)


def test_a_value_whose_cases_all_moved_leaves_no_row_in_the_breakdowns(facts):
    """Moving a dimension's only cases to another value leaves its day-sum rows at zero:
    the breakdowns (like the live path) no longer list it, nor the cause x category view."""
    summaries.refresh(now=NOW)
    Case.objects.all().update(channel="web", root_cause=root_cause())
    summaries.refresh(now=NOW)
    channels = summaries.by_dimension(MONTH_FIRST, MONTH_LAST)["channel"]
    assert set(channels) == {"web"}
    Case.objects.all().update(root_cause=None)
    summaries.refresh(now=NOW)
    assert summaries.root_cause_matrix(MONTH_FIRST, MONTH_LAST) == []
    assert agree() == []


def test_dashboard_queries_do_not_grow_with_the_cases(db, django_assert_num_queries):
    now = timezone.now()
    period = Period(CUSTOM, (now - timedelta(days=27)).date(), now.date(),
                    (now - timedelta(days=55)).date(), (now - timedelta(days=28)).date())
    depts = [DepartmentFactory(code=f"sum-{i}") for i in range(3)]

    def add(n: int) -> None:
        for i in range(n):
            received = now - timedelta(days=i % 50, hours=i % 7)
            make(CustomerFactory(), received_at=received, department=depts[i % 3],
                 channel=("web", "app", "hotline")[i % 3], first_responded_at=received,
                 resolved_at=received + timedelta(hours=5), root_cause=root_cause())

    add(5)
    summaries.refresh(now=now)
    with CaptureQueriesContext(connection) as few:
        selectors.dashboard(period, now)
    assert len(few) <= 14
    add(60)
    summaries.refresh(now=now)
    with django_assert_num_queries(len(few)):
        selectors.dashboard(period, now)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_count_each_change_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    from django.db import connections

    customer = CustomerFactory()
    for h in range(40):
        make(customer, received_at=at(17) + timedelta(minutes=30 * h),
             first_responded_at=at(17) + timedelta(minutes=30 * h + 20))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            summaries.refresh(now=NOW, batch=7)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert summaries.compare(MONTH_FIRST, MONTH_LAST, NOW) == []
    assert sum(KpiDaySum.objects.filter(dim="tier").values_list("received", flat=True)) == 40


def test_a_tier_entry_written_to_the_log_alone_reaches_the_sums(facts):
    """The escalation KPI reads the log's upward retiers: an entry written without touching
    the case (an import, raw SQL) queues the case too; a stage entry does not."""
    from cases.models import CaseTransition

    summaries.refresh(now=NOW)
    case = facts["cases"]["c1"]
    KpiQueue.objects.all().delete()
    CaseTransition.objects.create(case=case, field="stage", name="note", source="received",
                                  target="received", at=NOW)
    assert not KpiQueue.objects.exists()
    CaseTransition.objects.create(case=case, field="tier", name="retier", source="3",
                                  target="1", at=NOW)
    assert KpiQueue.objects.filter(case_id=case.pk).exists()
    assert agree() == []
    CaseTransition.objects.filter(field="tier", case=case).delete()
    assert agree() == []
