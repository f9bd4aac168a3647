"""seed_demo shapes a working day relative to now: most open cases on time, some at risk, a
few breached with the alerts the sweep would have raised, liaisons with open requests, clocks
consistent with the cases, KPI sums that verify, the same data for the same seed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from cases.choices import OPEN_STAGES, Clock, SlaState, Stage
from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseTransition,
    CollaborationRequest,
    Customer,
    Department,
    Notice,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.services.sweeps import ALERT_BREACHED
from reporting.models import KpiQueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("seed_demo", "--cases", "300")
    return timezone.now()


def test_open_cases_are_mostly_on_time_some_at_risk_a_few_breached(seeded):
    open_cases = Case.objects.filter(stage__in=OPEN_STAGES)
    states = {s: open_cases.filter(sla_state=s).count() for s in SlaState.values}
    total = sum(states.values())
    assert 0 < total < 300 * 0.3  # most cases of 90 days are closed
    assert states[SlaState.ON_TIME] >= total * 0.7
    assert states[SlaState.AT_RISK] >= 1
    assert 1 <= states[SlaState.BREACHED] <= total * 0.1
    # nothing has been lying open for weeks: the oldest open case came in days ago
    oldest = open_cases.aggregate(first=Min("received_at"))["first"]
    assert seeded - oldest < timedelta(days=14)


def test_every_breach_raised_its_alerts(seeded):
    supervisor = User.objects.get(username="supervisor")
    breached = CaseDeadline.objects.filter(state=SlaState.BREACHED).select_related("case")
    assert breached.exists()
    for row in breached:
        told = set(Alert.objects.filter(deadline=row, kind=ALERT_BREACHED)
                   .values_list("recipient_id", flat=True))
        assert supervisor.pk in told
        assert (row.case.owner_id or row.case.handler_id) in told | {None}
    # recent alerts wait unread; older ones were read
    assert Alert.objects.filter(read_at__isnull=True).exists()
    assert Alert.objects.filter(read_at__isnull=False).exists()


def test_each_liaison_has_open_requests_with_running_clocks(seeded, client):
    for department in Department.objects.filter(liaison__isnull=False):
        requests = CollaborationRequest.objects.filter(department=department,
                                                       status=RequestStatus.OPEN)
        assert requests.exists(), department.code
        for request in requests:
            assert request.case.stage == Stage.WAITING_DEPARTMENT
            assert CaseDeadline.objects.filter(request=request, stopped_at__isnull=True).exists()
        client.force_login(department.liaison)
        response = client.get("/board/")
        assert response.status_code == 200
        assert requests.first().case.reference in response.content.decode()


def test_clocks_agree_with_the_cases(seeded):
    for case in Case.objects.filter(stage__in=OPEN_STAGES).prefetch_related("deadlines"):
        running = [d for d in case.deadlines.all() if d.stopped_at is None]
        assert running, case.reference
        assert case.next_due_at == min(d.due_at for d in running)
    assert not CaseDeadline.objects.filter(case__stage__in=[Stage.CLOSED, Stage.INVALID],
                                           stopped_at__isnull=True).exists()
    # a case with many progress clocks keeps its later ones (feedback, revisit): the
    # earliest progress clocks are the ones left out of its slots
    assert not Case.objects.filter(resolved_at__isnull=False).exclude(
        deadlines__clock=Clock.FEEDBACK).exists()
    assert not Case.objects.filter(feedback_given_at__isnull=False).exclude(
        deadlines__clock=Clock.REVISIT).exists()
    closed = Case.objects.filter(stage=Stage.CLOSED).first()
    names = set(CaseTransition.objects.filter(case=closed).values_list("name", flat=True))
    assert {"receive", "triage", "assign", "start", "resolve", "give_feedback"} <= names
    assert Notice.objects.filter(case=closed, kind="acknowledgement").exists() or \
        not closed.customer.email


def test_kpi_summaries_verify_after_seeding(seeded, capsys):
    call_command("kpi_summaries", "--verify", "120")
    assert "Day sums agree" in capsys.readouterr().out


def test_the_same_seed_writes_the_same_cases():
    def shape() -> list[tuple]:
        return list(Case.objects.order_by("pk").values_list(
            "stage", "subject", "category", "channel", "tier", "customer__name"))

    call_command("seed_demo", "--cases", "40", "--seed", "3")
    first = shape()
    Case.objects.all().delete()
    Customer.objects.all().delete()
    call_command("seed_demo", "--cases", "40", "--seed", "3")
    assert shape() == first


def test_refuses_a_database_with_cases_unless_appending(capsys):
    call_command("seed_demo", "--cases", "20")
    with pytest.raises(CommandError, match="already holds 20 cases"):
        call_command("seed_demo", "--cases", "20")
    assert Case.objects.count() == 20
    call_command("seed_demo", "--cases", "20", "--if-empty")
    assert Case.objects.count() == 20
    call_command("seed_demo", "--cases", "5", "--yes")
    assert Case.objects.count() == 25


@pytest.mark.skipif(connection.vendor != "postgresql", reason="copies are made in PostgreSQL")
def test_a_large_seed_copies_simulated_cases_with_their_own_identity(capsys):
    """Above ``--simulate`` cases, every ``stride``-th case is simulated and the others are
    copies: each with its own reference, tracking code, customer, contact details and notice
    keys, its history copied, and KPI sums that still verify."""
    call_command("seed_demo", "--cases", "62", "--simulate", "10")
    # every 6th case simulated (62 // 10): offsets 0, 6, ..., 60
    assert "11 cases simulated" in capsys.readouterr().out
    cases = Case.objects.order_by("pk")
    assert cases.count() == 62
    ids = list(cases.values_list("pk", flat=True))
    assert ids == list(range(ids[0], ids[0] + 62))
    assert len(set(cases.values_list("reference", flat=True))) == 62
    assert len(set(cases.values_list("tracking_code", flat=True))) == 62
    original, copy = cases[0], cases[1]
    assert (original.subject, original.stage, original.received_at) == \
        (copy.subject, copy.stage, copy.received_at)
    assert copy.reference.endswith(f"{copy.pk:06d}")
    assert copy.customer_id == original.customer_id + 1
    assert copy.customer.phone != original.customer.phone
    # the copy's history: as many transitions, its own notices naming its own reference
    assert CaseTransition.objects.filter(case=copy).count() == \
        CaseTransition.objects.filter(case=original).count() > 0
    for notice in Notice.objects.filter(case=copy):
        assert copy.reference in notice.body and original.reference not in notice.body
        assert notice.idempotency_key.split(":")[1] == str(copy.pk)
        assert notice.context["reference"] == copy.reference
    for alert in Alert.objects.filter(case=copy):
        assert alert.deadline.case_id == copy.pk
        assert original.reference not in alert.message
    # the last simulated case (offset 60) has one copy only: 62 cases, not 66; customers a
    # third, rounded down to whole strides
    assert Customer.objects.count() == 62 // 3 // 6 * 6
    assert not KpiQueue.objects.exists()
    call_command("kpi_summaries", "--verify", "120")
    assert "Day sums agree" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="copies are made in PostgreSQL")
def test_copies_past_a_million_keep_the_whole_id_in_their_reference():
    from tests.factories import CaseFactory

    case = CaseFactory()
    case.pk, case.reference = 999_995, "TS-2026-999995"  # a second row, for its id
    case.save(force_insert=True)
    call_command("seed_demo", "--cases", "12", "--simulate", "4", "--append")
    new = Case.objects.filter(pk__gt=999_995).order_by("pk")
    assert new.count() == 12
    references = [c.reference for c in new]
    assert len(set(references)) == 12
    assert references[-1].endswith("-1000007")
