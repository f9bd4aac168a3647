"""The audit trail's pages: personal-data views and exports recorded, the case history for
supervisors and admins only (paginated, bounded queries), the admin log read-only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AuditEntry
from cases.services.audit import AuditAction, AuditRecordData, audit_record_many
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _views(case=None) -> list[AuditEntry]:
    found = AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL)
    if case is not None:
        found = found.filter(case_id=case.pk)
    return list(found.order_by("seq"))


# --- personal-data views ---
def test_opening_the_workspace_records_one_view_of_the_customer_data(client, frontline):
    case = CaseFactory()
    client.force_login(frontline)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("desk:case", args=[case.pk]))
    assert response.status_code == 200
    assert case.customer.phone in response.content.decode()  # unmasked for an agent
    [entry] = _views(case)
    assert entry.actor_name == "agent" and entry.target_id == str(case.customer.pk)
    assert entry.detail == {"where": "workspace", "fields": ["phone", "email"]}
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")
               and "cases_auditentry" in q["sql"]]
    assert len(inserts) == 1


def test_the_customer_admin_page_and_list_record_views(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)
    assert client.get(reverse("admin:cases_customer_change",
                              args=[case.customer.pk])).status_code == 200
    assert client.get(reverse("admin:cases_customer_changelist")).status_code == 200
    page, listing = _views()[-2:]
    assert page.detail["where"] == "admin customer" and page.actor_name == "ops"
    assert listing.detail["where"] == "admin customer list" and listing.detail["rows"] >= 1


def test_a_case_export_records_who_the_filters_and_the_row_count(client, supervisor):
    CaseFactory()
    CaseFactory()
    client.force_login(supervisor)
    response = client.get(reverse("reports:export_cases", args=["csv"]),
                          {"queue": "all", "q": "13912345678"})
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).latest("seq")
    assert entry.actor_name == "boss" and entry.detail["what"] == "cases"
    assert entry.detail["format"] == "csv" and entry.detail["rows"] == 0
    assert entry.detail["filters"]["q"] == ["139****5678"]  # a searched phone stays masked


def test_a_kpi_export_is_recorded(client, frontline):
    client.force_login(frontline)
    assert client.get(reverse("reports:export_kpis", args=["csv"])).status_code == 200
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).latest("seq")
    assert entry.detail["what"] == "kpis" and entry.detail["rows"] > 0


# --- the case history panel ----------------------------------------------------------------------
def _history(client, user, case, **params):
    client.force_login(user)
    return client.get(reverse("desk:case", args=[case.pk]), params)


def test_a_supervisor_sees_the_case_history(client, supervisor):
    case = CaseFactory()
    response = _history(client, supervisor, case)
    page = response.context["audit_page"]
    assert page is not None and len(page.entries) >= 1
    assert 'data-testid="audit-history"' in response.content.decode()


@pytest.mark.parametrize("who", ["frontline", "senior"])
def test_agents_do_not_see_the_case_history(client, request, who):
    case = CaseFactory()
    response = _history(client, request.getfixturevalue(who), case)
    assert response.status_code == 200 and response.context["audit_page"] is None
    assert 'data-testid="audit-history"' not in response.content.decode()


def test_a_liaison_and_an_anonymous_visitor_get_no_history(client, liaison):
    case = CaseFactory()
    response = _history(client, liaison, case)
    assert response.status_code in (302, 403, 404)
    assert b"audit-history" not in response.content
    client.logout()
    response = client.get(reverse("desk:case", args=[case.pk]))
    assert response.status_code == 302 and b"audit-history" not in response.content


def _fill(case, n: int) -> None:
    audit_record_many([AuditRecordData(action=AuditAction.CHANGE, target=case,
                                       changes={"subject": (f"s{i}", f"s{i + 1}")})
                       for i in range(n)])


def test_the_history_is_paginated_with_the_same_queries_for_few_or_many(client, supervisor):
    case = CaseFactory()
    client.force_login(supervisor)
    url = reverse("desk:case", args=[case.pk])
    client.get(url)  # warm caches
    _fill(case, 3)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _fill(case, 60)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, {"audit_page": 2})
    assert len(small.captured_queries) == len(large.captured_queries)
    page = response.context["audit_page"]
    assert page.number == 2 and len(page.entries) == 20 and page.has_next
    assert 'rel="next"' in response.content.decode()


# Not named "page": that is pytest-playwright's browser page fixture.
@pytest.mark.parametrize("number", ["999", "abc", "-3", ""])
def test_an_odd_history_page_number_is_no_error(client, supervisor, number):
    case = CaseFactory()
    response = _history(client, supervisor, case, audit_page=number)
    assert response.status_code == 200
    assert response.context["audit_page"].number >= 1


# --- the admin log -------------------------------------------------------------------------------
def test_the_admin_shows_the_log_read_only(client, admin_user):
    case = CaseFactory()
    entry = AuditEntry.objects.filter(case_id=case.pk).first()
    client.force_login(admin_user)
    listing = client.get(reverse("admin:cases_auditentry_changelist"))
    assert listing.status_code == 200
    assert listing.context["action_form"] is None  # no actions, delete_selected included
    detail = client.get(reverse("admin:cases_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and entry.hash in detail.content.decode()
    assert client.get(reverse("admin:cases_auditentry_add")).status_code == 403
    assert client.get(reverse("admin:cases_auditentry_delete", args=[entry.pk])).status_code == 403
    before = AuditEntry.objects.get(pk=entry.pk).actor_name
    client.post(reverse("admin:cases_auditentry_change", args=[entry.pk]),
                {"actor_name": "forged"})
    assert AuditEntry.objects.get(pk=entry.pk).actor_name == before
    client.post(reverse("admin:cases_auditentry_changelist"),
                {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_staff_without_the_permission_cannot_read_the_log(client):
    staff = UserFactory(username="clerk", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:cases_auditentry_changelist")).status_code == 403


def test_the_board_request_page_records_an_agents_view_not_a_liaisons(client, dept_tree):
    from cases.choices import Role, Stage
    from cases.services import collaboration as collab

    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    req = collab.request_create(actor=agent, case_id=case.pk,
                                department=dept_tree["logistics"], ask="核实物流轨迹")
    url = reverse("board:request", args=[req.pk])
    client.force_login(dept_tree["logistics"].liaison)  # sees masked data only
    assert client.get(url).status_code == 200
    assert not _views(case)
    client.force_login(agent)
    assert client.get(url).status_code == 200
    [entry] = _views(case)
    assert entry.actor_name == "cs-agent" and entry.detail["where"] == "board request"
