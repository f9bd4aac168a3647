"""The desk's pages run a fixed number of SQL queries, however many rows they show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.choices import Category, ChannelKind, NoteKind, Role, SlaState, Stage, Tier
from cases.models import Case, CaseDeadline, CaseNote, Customer
from tests.factories import CaseFactory, DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15
# The audit trail on the case page (issue 19): recording the view of the customer's contact
# data (the chain's last entry, then the INSERT in a savepoint: the test's transaction adds
# SAVEPOINT and RELEASE, which autocommit in production does not) and, for a supervisor,
# one page of the case's history.
AUDIT_QUERIES = 5
# The case page's related-cases panel (issue 16): its links, and the live merges into or out
# of it (with both cases of each), one query each, however many there are.
RELATIONS_QUERIES = 2
# The case page in all (issue 18), with a 30-entry timeline, the audit write and panel and the
# related-cases panel: the session, the user with their roles, the case with flags saying
# which of its panels hold anything (the empty ones are not read), its task force, the
# timeline's transitions, notes, files and notices, its clocks, the audit entries and the
# alert count; a panel with rows (requests, revisits, links...) adds its one query.
CASE_PAGE_MAX_QUERIES = 15


def _many_cases(n: int, owner) -> list[Case]:
    """``n`` open cases with distinct customers, owners, handlers and departments, written in
    bulk (walking each through the services would be slow and tells nothing more here)."""
    now = timezone.now()
    start = Case.objects.count()
    agents = [owner] + [UserFactory(username=f"qa{i}", role=Role.FRONTLINE) for i in range(3)]
    depts = [DepartmentFactory(code=f"qd{i}") for i in range(3)]
    customers = Customer.objects.bulk_create(
        [Customer(name=f"客户{start + i}", phone=f"150{start + i:08d}") for i in range(n)]
    )
    cases = Case.objects.bulk_create([
        Case(reference=f"TS-2026-9{start + i:05d}", tracking_code="QCOUNT", customer=c,
             channel=ChannelKind.HOTLINE, received_at=now - timedelta(hours=i),
             category=Category.DELIVERY, subject=f"订单未送达 {i}", description="物流延误。",
             owner=owner, handler=agents[i % 4], department=depts[i % 3],
             tier=Tier.ROUTINE, stage=Stage.IN_PROGRESS, sla_state=SlaState.ON_TIME,
             next_due_at=now + timedelta(hours=i + 1))
        for i, c in enumerate(customers)
    ])
    CaseDeadline.objects.bulk_create([
        CaseDeadline(case=case, clock="solution", started_at=now,
                     risk_at=now + timedelta(minutes=30 + i), due_at=now + timedelta(hours=i + 1))
        for i, case in enumerate(cases)
    ])
    return cases


def _count(client, url, params=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.fixture
def boss_client(client, supervisor):
    client.force_login(supervisor)
    client.get(reverse("desk:home"))  # warm: the user's roles are cached from then on
    return client


@pytest.mark.parametrize("params", [
    {},
    {"queue": "mine"},
    {"deadline": "on_time", "sort": "tier", "page": "1"},
    {"q": "订单"},
    {"tier": "3", "channel": "hotline", "category": "delivery", "deadline": "on_time",
     "key_customer": "false", "group": "false", "sort": "-received"},
])
def test_list_page_runs_the_same_queries_for_10_and_100_rows(boss_client, supervisor, params):
    _many_cases(10, supervisor)
    small, response = _count(boss_client, reverse("desk:cases"), {**params, "per_page": 100})
    assert len(response.context["cases"]) == 10
    _many_cases(90, supervisor)
    large, response = _count(boss_client, reverse("desk:cases"), {**params, "per_page": 100})
    assert len(response.context["cases"]) == 100
    assert small == large
    assert large <= MAX_QUERIES


def test_home_page_queries_do_not_grow_with_cases(boss_client, supervisor):
    _many_cases(5, supervisor)
    small, _response = _count(boss_client, reverse("desk:home"))
    _many_cases(60, supervisor)
    large, response = _count(boss_client, reverse("desk:home"))
    assert len(response.context["my_cases"]) == 8
    assert small == large
    assert large <= MAX_QUERIES  # the queue counts are one query


def test_home_queue_counts_are_one_query(boss_client, supervisor):
    from cases import selectors

    selectors.queues_for(supervisor)  # the user's roles and task force, read once a request
    selectors.task_force_case_ids(supervisor)
    with CaptureQueriesContext(connection) as ctx:
        counts = selectors.desk_queue_counts(supervisor)
    # eleven, reviews requested (19), customer replied (15), cases routing left unassigned (16)
    assert len(counts) == 14
    assert len(ctx.captured_queries) == 1


def test_saved_filter_pages_are_bounded(boss_client, supervisor):
    from tests.factories import SavedFilterFactory

    SavedFilterFactory(owner=supervisor)
    small, _response = _count(boss_client, reverse("desk:saved_filters"))
    for _ in range(10):
        SavedFilterFactory(owner=supervisor)
    large, response = _count(boss_client, reverse("desk:saved_filters"))
    assert len(response.context["saved_filters"]) == 11
    assert small == large <= MAX_QUERIES


def test_case_page_queries_do_not_grow_with_the_timeline(boss_client, supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.URGENT, handler=supervisor)
    CaseFactory(phone=case.customer.phone)  # one other case: that panel is read either way
    small, _response = _count(boss_client, reverse("desk:case", args=[case.pk]))
    now = timezone.now()
    CaseNote.objects.bulk_create([
        CaseNote(case=case, kind=NoteKind.PROGRESS, author=UserFactory(username=f"n{i}"),
                 body=f"进展 {i}", created_at=now) for i in range(30)
    ])
    for _ in range(4):
        CaseFactory(phone=case.customer.phone)  # the customer's other cases
    large, response = _count(boss_client, reverse("desk:case", args=[case.pk]))
    # The timeline shows its latest page and offers the earlier ones (issue 15).
    assert len(response.context["ws"].timeline) == 30
    assert response.context["ws"].timeline.earlier
    assert small == large
    assert large <= CASE_PAGE_MAX_QUERIES


def test_action_form_queries_are_bounded(boss_client, supervisor):
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.URGENT)
    count, _response = _count(boss_client, reverse("desk:case_action", args=[case.pk, "assign"]))
    assert count <= MAX_QUERIES


def test_open_cases_partial_index_lists_exactly_the_open_stages():
    """The partial index serves lists of open cases only while its stage list matches
    cases.choices.OPEN_STAGES: the latest migration that (re)builds it lists exactly those
    (0032 added ``under_review``; 0009, 0011 and 0014 built it before)."""
    import importlib

    from cases.choices import OPEN_STAGES

    latest = importlib.import_module("cases.migrations.0032_review_open_cover_index")
    assert set(latest.OPEN) == set(OPEN_STAGES)
    for name in ("0009_desk_list_indexes", "0011_sweep_hot_case_updates",
                 "0014_case_next_risk_at"):
        migration = importlib.import_module(f"cases.migrations.{name}")
        assert set(migration.OPEN) == set(OPEN_STAGES) - {"under_review"}, name
