"""The case page reads what it shows and no more (issue 18): a panel nobody filled costs no
query, a filled one its one query, and the user's roles come with the user."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.choices import Role, Stage
from cases.models import CaseLink, CaseMerge, Compensation, LinkKind
from cases.services import collaboration as collab
from tests.factories import CaseFactory, advance
from tests.test_desk_queries import CASE_PAGE_MAX_QUERIES

pytestmark = pytest.mark.django_db

# Requests, compensations, links, merges, the customer's other cases: one query each when
# they hold rows.
FILLED_PANELS = 5


def _queries(client, case) -> tuple[int, str]:
    url = reverse("desk:case", args=[case.pk])
    client.get(url)  # warm the per-process caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_a_case_with_every_panel_filled_reads_one_query_per_panel(client, supervisor,
                                                                   dept_tree):
    # Given a case with nothing beside it
    case = advance(CaseFactory(actor=supervisor, handler=supervisor), Stage.IN_PROGRESS)
    bare = CaseFactory(stage=Stage.IN_PROGRESS, handler=supervisor)
    client.force_login(supervisor)
    empty, _html = _queries(client, bare)
    # When every panel of the other one holds rows
    other = CaseFactory(phone=case.customer.phone)
    CaseLink.objects.create(from_case=case, to_case=other, kind=LinkKind.RELATED,
                            created_by=supervisor, created_at=timezone.now())
    dup = CaseFactory(stage=Stage.CLOSED)
    CaseMerge.objects.create(primary=case, duplicate=dup, merged_by=supervisor,
                             merged_at=timezone.now())
    Compensation.objects.create(case=case, kind="coupon", amount=Decimal("20"),
                                proposed_by=supervisor, created_at=timezone.now())
    collab.request_create(actor=supervisor, case_id=case.pk, department=dept_tree["sales"],
                          ask="请协助")
    filled, html = _queries(client, case)
    # Then each costs its one query, and the page shows them
    assert empty <= CASE_PAGE_MAX_QUERIES
    assert filled <= empty + FILLED_PANELS
    assert other.reference in html and dup.reference in html


def test_a_role_taken_away_counts_on_the_next_request(client, frontline):
    # Given an agent on a case page
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    url = reverse("desk:case", args=[case.pk])
    assert client.get(url).status_code == 200
    # When their role is taken away
    frontline.groups.remove(Group.objects.get(name=Role.FRONTLINE))
    # Then the next request no longer sees the desk
    assert client.get(url).status_code in (403, 404)


def test_a_task_force_member_sees_the_case_read_with_its_task_force(client, frontline,
                                                                    frontline2):
    # Given a case handled by one agent with another in its task force
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    bare, _html = _queries(client, case)
    case.task_force.add(frontline2)
    # When the task force member opens it
    client.force_login(frontline2)
    count, _html = _queries(client, case)
    response = client.get(reverse("desk:case", args=[case.pk]))
    # Then they see it, with the task force listed, for the one query that reads it
    assert response.context["task_force"] == [frontline2]
    assert count <= bare + 1
