"""Reporting pages: who may see what, periods and bad input, targets, root causes, weekly
reviews and improvement actions through HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.choices import Role, Stage
from reporting import kpis as K
from reporting import summaries
from reporting.models import ImprovementAction, KpiTarget, WeeklyReview
from reporting.services import previous_week, weekly_review_build
from tests.factories import CaseFactory, UserFactory

DASHBOARD = "reports:dashboard"


@pytest.fixture
def cases(db):
    return [CaseFactory(stage=Stage.CLOSED), CaseFactory(stage=Stage.IN_PROGRESS),
            CaseFactory(stage=Stage.INVALID)]


@pytest.fixture
def review(db):
    return weekly_review_build(week=previous_week(timezone.now()))[0]


# --- who may see what --------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who,status", [
    ("frontline", 200), ("senior", 200), ("supervisor", 200), ("admin_user", 200),
    ("liaison", 403),
])
def test_dashboard_access_by_role(client, db, request, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse(DASHBOARD)).status_code == status


def test_ops_admin_without_superuser_sees_reports(client, db):
    ops = UserFactory(username="ops2", role=Role.ADMIN)
    client.force_login(ops)
    assert client.get(reverse(DASHBOARD)).status_code == 200


def test_user_without_role_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse(DASHBOARD)).status_code == 403


def test_agent_sees_kpis_but_no_customer_data(client, frontline, cases):
    client.force_login(frontline)
    page = client.get(reverse(DASHBOARD)).content.decode()
    customer = cases[0].customer
    assert "kpi-table" in page
    assert customer.name not in page and customer.phone not in page


# --- the dashboard -----------------------------------------------------------------------------
def test_dashboard_shows_every_kpi_with_chart_data(client, supervisor, cases,
                                                  django_assert_max_num_queries):
    client.force_login(supervisor)
    summaries.refresh()  # the beat task's job; the page then only reads the day sums
    with django_assert_max_num_queries(20):
        response = client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    board = response.context["board"]
    assert len(board.lines) == len(K.KPIS)
    assert board.volume == 2  # the invalid case does not count
    lines = {line.kpi.code: line for line in board.lines}
    assert lines["satisfaction"].value == 100 and lines["satisfaction"].status == "met"
    html = response.content.decode()
    charts = json.loads(html.split('id="chart-data" type="application/json">')[1]
                        .split("</script>")[0])
    assert set(charts["volumes"]) == {"tier", "channel", "category", "department"}
    assert sum(charts["volumes"]["channel"]["data"]) == 2
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/reports.js" in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("params", [
    {"period": "this_week"}, {"period": "last_week"}, {"period": "this_month"},
    {"period": "last_month"}, {"period": "last_12_months"},
    {"period": "custom", "start": "2026-01-01", "end": "2026-01-31"},
])
def test_every_period_renders(client, supervisor, cases, params):
    client.force_login(supervisor)
    response = client.get(reverse(DASHBOARD), params)
    assert response.status_code == 200
    period = response.context["board"].period
    assert period.first <= period.last and period.previous_last < period.first


def test_custom_range_previous_period_has_the_same_length(client, supervisor, db):
    client.force_login(supervisor)
    response = client.get(reverse(DASHBOARD), {"period": "custom", "start": "2026-03-10",
                                               "end": "2026-03-19"})
    period = response.context["board"].period
    assert str(period.previous_first) == "2026-02-28" and str(period.previous_last) == "2026-03-09"


@pytest.mark.parametrize("params,message", [
    ({"period": "custom", "start": "2026-02-10", "end": "2026-02-01"}, "starts after it ends"),
    ({"period": "custom", "start": "2026-02-10"}, "both dates"),
    ({"period": "custom", "start": "2010-01-01", "end": "2026-01-01"}, "at most"),
    ({"period": "custom", "start": "not-a-date", "end": "2026-01-01"}, "valid date"),
    ({"period": "forever"}, "valid choice"),
])
def test_bad_period_input_gets_a_clear_error_and_this_week(client, supervisor, db, params,
                                                          message):
    client.force_login(supervisor)
    response = client.get(reverse(DASHBOARD), params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["board"].period.kind == "this_week"


def test_admin_edits_a_target_and_the_dashboard_follows(client, admin_user, supervisor, db):
    target = KpiTarget.objects.get(code="first_response")
    client.force_login(admin_user)
    change = reverse("admin:reporting_kpitarget_change", args=[target.pk])
    response = client.post(change, {"target": "90.00"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.target == 90
    client.force_login(supervisor)
    page = client.get(reverse(DASHBOARD)).content.decode()
    assert "≥ 90 %" in page and "Edit targets" not in page


def test_supervisor_cannot_edit_targets_in_the_admin(client, supervisor, db):
    client.force_login(supervisor)
    target = KpiTarget.objects.get(code="first_response")
    response = client.post(reverse("admin:reporting_kpitarget_change", args=[target.pk]),
                           {"target": "1"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    target.refresh_from_db()
    assert target.target == 95


def test_dashboard_without_target_rows_uses_spec_defaults(client, supervisor, db):
    KpiTarget.objects.all().delete()
    client.force_login(supervisor)
    page = client.get(reverse(DASHBOARD)).content.decode()
    assert "≥ 95 %" in page and "≤ 8 %" in page


# --- root causes -------------------------------------------------------------------------------
def test_root_cause_view_counts_resolved_cases(client, frontline, cases):
    client.force_login(frontline)
    response = client.get(reverse("reports:root_causes"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["count"] for r in rows] == [1]  # the closed case; the invalid one is excluded
    assert rows[0]["label"] == cases[0].root_cause.name_en or cases[0].root_cause.name
    assert response.context["by_category"]["rows"][0]["total"] == 1


# --- weekly reviews and actions ----------------------------------------------------------------
def test_review_list_and_detail_for_agents_read_only(client, frontline, review):
    client.force_login(frontline)
    page = client.get(reverse("reports:reviews")).content.decode()
    assert reverse("reports:review", args=[review.pk]) in page
    response = client.get(reverse("reports:review", args=[review.pk]))
    assert response.status_code == 200
    assert response.context["form"] is None and not response.context["can_export"]
    assert client.post(reverse("reports:review_build")).status_code == 403


def test_supervisor_builds_last_weeks_review_once(client, supervisor, db):
    client.force_login(supervisor)
    first = client.post(reverse("reports:review_build"))
    assert first.status_code == 302
    second = client.post(reverse("reports:review_build"), follow=True)
    assert "already exists" in second.content.decode()
    assert WeeklyReview.objects.count() == 1
    assert WeeklyReview.objects.get().built_by == supervisor


def test_review_detail_query_count(client, supervisor, review, cases,
                                   django_assert_max_num_queries):
    owner = UserFactory(username="owner1", role=Role.SENIOR)
    for i in range(5):
        action = ImprovementAction.objects.create(
            review=review, action=f"Fix {i}", owner=owner, created_by=supervisor,
            due_date=timezone.localdate())
        action.cases.set([cases[0], cases[1]])
    client.force_login(supervisor)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("reports:review", args=[review.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("Fix ") >= 5


def test_supervisor_adds_an_action_with_linked_cases(client, supervisor, review, cases):
    owner = UserFactory(username="owner1", role=Role.SENIOR)
    client.force_login(supervisor)
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    refs = f"{cases[0].reference.lower()}, {cases[1].reference}"
    response = client.post(reverse("reports:action_create", args=[review.pk]), {
        "action": "Retrain the night shift on first contact", "owner": owner.pk,
        "due_date": due, "status": "open", "case_refs": refs,
    })
    assert response.status_code == 302
    action = ImprovementAction.objects.get()
    assert action.created_by == supervisor and action.review == review
    assert set(action.cases.all()) == {cases[0], cases[1]}


@pytest.mark.parametrize("data,error", [
    ({"action": "", "due_date": "2026-12-01"}, "This field is required"),
    ({"action": "X", "due_date": "2026-13-45"}, "valid date"),
    ({"action": "X", "due_date": "2026-12-01", "case_refs": "TS-2026-999999"}, "No such case"),
    ({"action": "长" * 4001, "due_date": "2026-12-01"}, "at most 4000 characters"),
    ({"action": "X", "due_date": "2026-12-01", "progress_note": "长" * 4001},
     "at most 4000 characters"),
])
def test_bad_action_input_changes_nothing(client, supervisor, review, db, data, error):
    owner = UserFactory(username="owner1", role=Role.SENIOR)
    client.force_login(supervisor)
    response = client.post(reverse("reports:action_create", args=[review.pk]),
                           {"owner": owner.pk, "status": "open", **data})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ImprovementAction.objects.exists()


def test_agent_cannot_add_or_change_actions(client, frontline, supervisor, review):
    action = ImprovementAction.objects.create(review=review, action="A", owner=supervisor,
                                              created_by=supervisor, due_date="2026-12-01")
    client.force_login(frontline)
    assert client.post(reverse("reports:action_create", args=[review.pk]),
                       {"action": "B"}).status_code == 403
    assert client.get(reverse("reports:action_update", args=[action.pk])).status_code == 403


def test_supervisor_follows_up_an_action_to_done(client, supervisor, review, cases):
    action = ImprovementAction.objects.create(review=review, action="A", owner=supervisor,
                                              created_by=supervisor, due_date="2026-12-01")
    client.force_login(supervisor)
    url = reverse("reports:action_update", args=[action.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "A (revised)", "owner": supervisor.pk,
                                 "due_date": "2026-12-05", "status": "done",
                                 "progress_note": "Done on the 4th", "case_refs": ""})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done" and action.completed_at is not None
    assert action.progress_note == "Done on the 4th"


def test_open_actions_of_earlier_reviews_are_carried_over(client, supervisor, db):
    now = timezone.now()
    older, _ = weekly_review_build(week=previous_week(now) - timedelta(weeks=1), now=now)
    newer, _ = weekly_review_build(week=previous_week(now), now=now)
    ImprovementAction.objects.create(review=older, action="Still open", owner=supervisor,
                                     created_by=supervisor, due_date="2026-01-01")
    client.force_login(supervisor)
    response = client.get(reverse("reports:review", args=[newer.pk]))
    assert [a.action for a in response.context["carried"]] == ["Still open"]
    listing = client.get(reverse("reports:actions")).content.decode()
    assert "Still open" in listing and "overdue" in listing

