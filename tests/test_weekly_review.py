"""The weekly review 每周复盘: built by the Monday beat task for the previous local week,
stored as a snapshot, never duplicated, never rewritten."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from cases.choices import Clock, SlaState, Stage
from cases.models import CaseDeadline
from cases.services.errors import ActionForbidden, InvalidInput
from reporting.models import ImprovementAction, WeeklyReview
from reporting.services import weekly_review_build
from reporting.tasks import weekly_review_task
from tests.kpi_facts import at  # the hand-computed set: the ``facts`` fixture

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)  # the beat fires: review week of the 16th


def test_beat_runs_the_task_on_monday_at_nine_local_time():
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-review"]
    assert entry["task"] == "reporting.tasks.weekly_review_task"
    schedule = entry["schedule"]
    assert schedule.hour == {9} and schedule.minute == {0} and schedule.day_of_week == {1}
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE == "Asia/Shanghai"


def test_task_builds_the_previous_week_and_a_second_run_does_not_duplicate(facts):  # noqa: F811
    with time_machine.travel(MONDAY_9, tick=False):
        first = weekly_review_task()
        second = weekly_review_task.delay().get()  # eager in tests, like a redelivery
    assert first == second
    assert WeeklyReview.objects.count() == 1
    review = WeeklyReview.objects.get()
    assert review.week_start == date(2026, 11, 16)
    assert review.period_start == datetime(2026, 11, 16, tzinfo=SH)
    assert review.period_end == datetime(2026, 11, 23, tzinfo=SH)
    assert review.built_by is None and review.built_at == MONDAY_9


def test_snapshot_holds_the_weeks_kpis_lists_and_actions(facts):  # noqa: F811
    cases = facts["cases"]
    # c3's solution clock is running and overdue; c2's first response breached in the week.
    CaseDeadline.objects.create(case=cases["c3"], clock=Clock.SOLUTION, started_at=at(18, 10),
                                risk_at=at(20, 16), due_at=at(21, 10))
    CaseDeadline.objects.create(case=cases["c2"], clock=Clock.RESPONSE, started_at=at(17, 9),
                                risk_at=at(17, 12), due_at=at(17, 13), stopped_at=at(17, 15),
                                state=SlaState.BREACHED, breached_at=at(17, 13))
    CaseDeadline.objects.create(case=cases["c7"], clock=Clock.RESPONSE, started_at=at(17, 9),
                                risk_at=at(17, 12), due_at=at(17, 13), stopped_at=at(17, 15),
                                state=SlaState.BREACHED, breached_at=at(17, 13))  # invalid
    with time_machine.travel(MONDAY_9, tick=False):
        review = WeeklyReview.objects.get(pk=weekly_review_task())
    data = review.data
    kpis = {k["code"]: k for k in data["kpis"]}
    assert data["volume"] == 10 and data["previous_volume"] == 4
    # Read at Monday 09:00, not at the fixture's Wednesday: c4's solution (due the 25th) and
    # c13's response (due the 25th) are still unknown, as on the real Monday.
    assert kpis["satisfaction"]["value"] == "66.7" and kpis["satisfaction"]["status"] == "missed"
    assert kpis["department_response"]["value"] == "33.3"  # r6 not due yet
    assert kpis["first_response"]["target"] == "95.00"
    assert [r["reference"] for r in data["overdue"]["cases"]] == [cases["c3"].reference]
    assert data["overdue"]["cases"][0]["clocks"] == [Clock.SOLUTION]
    # c2's response breach was recorded; c3's solution clock fell due unswept; c7 is invalid.
    assert data["breached"]["total"] == 2
    assert data["breached"]["per_clock"] == {Clock.RESPONSE: 1, Clock.SOLUTION: 1}
    assert data["top_categories"][0] == {"key": "delivery", "count": 7, "share": "70.0"}


def test_later_edits_to_cases_do_not_rewrite_the_snapshot(facts):  # noqa: F811
    with time_machine.travel(MONDAY_9, tick=False):
        review = WeeklyReview.objects.get(pk=weekly_review_task())
    before = review.data
    case = facts["cases"]["c1"]
    type(case).objects.filter(pk=case.pk).update(satisfaction_score=1, satisfied=False)
    with time_machine.travel(MONDAY_9 + timedelta(hours=2), tick=False):
        assert weekly_review_task() == review.pk
    review.refresh_from_db()
    assert review.data == before
    assert {k["code"]: k for k in review.data["kpis"]}["satisfaction"]["value"] == "66.7"


def test_a_week_is_reviewed_only_after_it_ended(db, supervisor):
    with time_machine.travel(MONDAY_9, tick=False):
        with pytest.raises(InvalidInput):
            weekly_review_build(week=date(2026, 11, 23))  # this week
        with pytest.raises(InvalidInput):
            weekly_review_build(week=date(2026, 11, 18))  # not a Monday
        with pytest.raises(ActionForbidden):
            from tests.factories import UserFactory

            weekly_review_build(week=date(2026, 11, 16),
                                actor=UserFactory(username="a1", role="frontline_agent"))
    assert not WeeklyReview.objects.exists()


def test_monday_just_after_midnight_shanghai_reviews_the_week_just_ended(db):
    # Monday 00:30 in Shanghai is still Sunday 16:30 UTC.
    with time_machine.travel(datetime(2026, 11, 23, 0, 30, tzinfo=SH), tick=False):
        review = WeeklyReview.objects.get(pk=weekly_review_task())
    assert review.week_start == date(2026, 11, 16)


def test_empty_week_gives_an_empty_review(db):
    with time_machine.travel(MONDAY_9, tick=False):
        review = WeeklyReview.objects.get(pk=weekly_review_task())
    assert review.data["volume"] == 0
    assert all(k["value"] is None and k["status"] == "none" for k in review.data["kpis"])
    assert review.data["overdue"] == {"total": 0, "cases": []}


def test_open_actions_are_listed_in_the_next_snapshot(db, supervisor):
    with time_machine.travel(MONDAY_9 - timedelta(weeks=1), tick=False):
        older = WeeklyReview.objects.get(pk=weekly_review_task())
    ImprovementAction.objects.create(review=older, action="Retrain", owner=supervisor,
                                     created_by=supervisor, due_date=date(2026, 11, 20))
    ImprovementAction.objects.create(review=older, action="Finished", owner=supervisor,
                                     created_by=supervisor, due_date=date(2026, 11, 20),
                                     status="done")
    with time_machine.travel(MONDAY_9, tick=False):
        newer = WeeklyReview.objects.get(pk=weekly_review_task())
    assert [a["action"] for a in newer.data["open_actions"]] == ["Retrain"]
    assert newer.data["open_actions"][0]["overdue"] is True


def test_a_race_between_two_builds_keeps_one(db, monkeypatch):
    """The second builder finds no row, computes, and loses the unique insert: it returns the
    first builder's review instead of failing."""
    from reporting import services

    with time_machine.travel(MONDAY_9, tick=False):
        winner, _ = weekly_review_build(week=date(2026, 11, 16))
        real_filter = WeeklyReview.objects.filter

        class Blind:
            def first(self):
                return None

        monkeypatch.setattr(services.WeeklyReview.objects, "filter",
                            lambda **kw: Blind() if "week_start" in kw else real_filter(**kw))
        review, created = weekly_review_build(week=date(2026, 11, 16), now=timezone.now())
    assert review.pk == winner.pk and created is False
    assert WeeklyReview.objects.count() == 1


def test_the_real_services_feed_the_review(db):
    """A case walked through the services last week shows up in the Monday snapshot."""
    from tests.factories import CaseFactory

    with time_machine.travel(datetime(2026, 11, 18, 10, 0, tzinfo=SH), tick=True):
        CaseFactory(stage=Stage.CLOSED)
    with time_machine.travel(MONDAY_9, tick=False):
        review = WeeklyReview.objects.get(pk=weekly_review_task())
    kpis = {k["code"]: k for k in review.data["kpis"]}
    assert review.data["volume"] == 1
    assert kpis["satisfaction"]["value"] == "100.0"
    assert review.data["root_causes"][0]["count"] == 1
