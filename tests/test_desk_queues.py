"""Desk home and queues: what each queue holds, who sees it, and its count."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.choices import OPEN_STAGES, SlaState, Stage, Tier
from cases.models import Case
from tests.factories import CaseFactory, set_clocks, sync_case_clocks

pytestmark = pytest.mark.django_db


def _queue(name, user):
    return set(Case.objects.filter(selectors.queue_q(name, user)).values_list("pk", flat=True))


def _listed(client, queue):
    response = client.get(reverse("desk:cases"), {"queue": queue})
    assert response.status_code == 200
    return {c.pk for c in response.context["cases"]}


def test_my_cases_are_open_cases_i_own_handle_or_am_on_the_task_force_of(frontline, frontline2):
    owned = CaseFactory(actor=frontline, channel_kind="hotline")
    handled = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    task_force = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.URGENT, handler=frontline)
    someone_elses = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline2)
    closed = CaseFactory(stage=Stage.CLOSED, handler=frontline)
    mine = _queue("mine", frontline)
    assert {owned.pk, handled.pk, task_force.pk} <= mine
    assert someone_elses.pk not in mine and closed.pk not in mine


def test_team_queue_holds_received_and_triaged_cases_only(frontline):
    received = CaseFactory()
    triaged = CaseFactory(stage=Stage.TRIAGED)
    assigned = CaseFactory(stage=Stage.ASSIGNED)
    team = _queue("team", frontline)
    assert {received.pk, triaged.pk} <= team and assigned.pk not in team


def test_fast_lane_is_every_open_tier_1_case(frontline):
    urgent = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.URGENT)
    routine = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.ROUTINE)
    closed_urgent = CaseFactory(stage=Stage.CLOSED, tier=Tier.URGENT)
    lane = _queue("fast_lane", frontline)
    assert urgent.pk in lane and routine.pk not in lane and closed_urgent.pk not in lane


def test_at_risk_and_breached_follow_the_deadline_state_even_before_the_sweep(supervisor):
    at_risk, breached, past_due, risky, fine = (
        CaseFactory(stage=Stage.IN_PROGRESS) for _ in range(5))
    set_clocks(at_risk, state=SlaState.AT_RISK, risk_in=timedelta(hours=-1),
               due_in=timedelta(hours=1))
    set_clocks(breached, state=SlaState.BREACHED, due_in=timedelta(hours=-1))
    # Past due / past 75 % but the sweep has not marked them yet: counted all the same.
    set_clocks(past_due, due_in=timedelta(minutes=-1))
    set_clocks(risky, risk_in=timedelta(minutes=-1), due_in=timedelta(hours=1))
    set_clocks(fine, due_in=timedelta(days=1))
    ours = {at_risk.pk, breached.pk, past_due.pk, risky.pk, fine.pk}
    assert _queue("at_risk", supervisor) & ours == {at_risk.pk, risky.pk}
    assert _queue("breached", supervisor) & ours == {breached.pk, past_due.pk}


def test_a_case_with_a_breached_and_an_at_risk_clock_is_breached_only(supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    set_clocks(case, state=SlaState.AT_RISK, risk_in=timedelta(hours=-1),
               due_in=timedelta(hours=1))
    clock = case.deadlines.filter(stopped_at__isnull=True).first()
    clock.state, clock.due_at = SlaState.BREACHED, timezone.now() - timedelta(hours=1)
    clock.save()
    sync_case_clocks(case)
    assert case.deadlines.filter(stopped_at__isnull=True).count() > 1
    assert case.pk in _queue("breached", supervisor)
    assert case.pk not in _queue("at_risk", supervisor)


def test_supervision_counts_match_the_queue_lists(client, supervisor):
    for state, due in ((SlaState.BREACHED, -2), (SlaState.BREACHED, -1), (SlaState.AT_RISK, 1)):
        set_clocks(CaseFactory(stage=Stage.IN_PROGRESS), state=state,
                   risk_in=timedelta(hours=-3), due_in=timedelta(hours=due))
    set_clocks(CaseFactory(stage=Stage.IN_PROGRESS), due_in=timedelta(days=1))
    client.force_login(supervisor)
    counts = {qc.queue.name: qc.count
              for qc in client.get(reverse("desk:home")).context["queue_counts"]}
    assert counts["breached"] == 2 == len(_listed(client, "breached"))
    assert counts["at_risk"] == 1 == len(_listed(client, "at_risk"))
    # the sweep's own view, read from the running clocks, agrees
    from cases.models import CaseDeadline

    now = timezone.now()
    running = CaseDeadline.objects.filter(stopped_at__isnull=True)
    breached = set(running.filter(due_at__lte=now).values_list("case_id", flat=True))
    at_risk = set(running.filter(risk_at__lte=now, due_at__gt=now)
                  .values_list("case_id", flat=True)) - breached
    assert (len(breached), len(at_risk)) == (2, 1)


@pytest.mark.parametrize("stage", [Stage.RECEIVED, Stage.ASSIGNED, Stage.IN_PROGRESS,
                                   Stage.WAITING_DEPARTMENT, Stage.RESOLVED,
                                   Stage.FEEDBACK_GIVEN, Stage.FOLLOW_UP, Stage.CLOSED])
def test_the_case_carries_its_running_clocks_earliest_due_and_risk_times(stage):
    """The deadline-state filters read ``next_due_at``/``next_risk_at`` instead of the clocks:
    the services keep them equal to the earliest running clock's times (empty when none)."""
    from django.db.models import Min

    case = CaseFactory(stage=stage)
    running = case.deadlines.filter(stopped_at__isnull=True).aggregate(
        due=Min("due_at"), risk=Min("risk_at"))
    assert (case.next_due_at, case.next_risk_at) == (running["due"], running["risk"])
    assert (case.next_due_at is None) == (stage == Stage.CLOSED)


def test_running_clocks_stop_when_a_case_closes_so_queues_need_no_case_stage(supervisor):
    """The supervision counts read CaseDeadline alone; they agree with the (open) queue lists
    because closing or invalidating a case stops its clocks."""
    from cases.models import CaseDeadline

    CaseFactory(stage=Stage.CLOSED)
    CaseFactory(stage=Stage.INVALID)
    assert CaseDeadline.objects.exists()
    assert not CaseDeadline.objects.filter(stopped_at__isnull=True).exclude(
        case__stage__in=OPEN_STAGES).exists()


def test_waiting_revisits_and_follow_ups(frontline):
    waiting = CaseFactory(stage=Stage.WAITING_DEPARTMENT)
    feedback_new = CaseFactory(stage=Stage.FEEDBACK_GIVEN)
    feedback_due = CaseFactory(stage=Stage.FEEDBACK_GIVEN)
    Case.objects.filter(pk=feedback_due.pk).update(
        revisit_due_at=timezone.now() - timedelta(minutes=5))
    revisit = CaseFactory(stage=Stage.REVISIT)
    follow_up = CaseFactory(stage=Stage.FOLLOW_UP)
    assert waiting.pk in _queue("waiting", frontline)
    revisits = _queue("revisits", frontline)
    assert {feedback_due.pk, revisit.pk} <= revisits and feedback_new.pk not in revisits
    assert _queue("follow_ups", frontline) == {follow_up.pk}


def test_approvals_queue_holds_cases_with_compensation_awaiting_a_supervisor(supervisor):
    pending = CaseFactory(stage=Stage.RESOLVED, compensation=Decimal("900"))
    # The factory's actor is a supervisor: their own proposal is approved at once.
    assert pending.pk not in _queue("approvals", supervisor)
    from cases import services
    from tests.factories import UserFactory

    agent = UserFactory(username="comp-agent", role="frontline_agent")
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    services.compensation_propose(actor=agent, case_id=case.pk, kind="refund",
                                  amount=Decimal("800"))
    assert case.pk in _queue("approvals", supervisor)


def test_desk_home_shows_queue_counts(client, frontline):
    CaseFactory(actor=frontline, channel_kind="hotline")
    CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    response = client.get(reverse("desk:home"))
    assert response.status_code == 200
    counts = {qc.queue.name: qc.count for qc in response.context["queue_counts"]}
    assert counts["mine"] == 1
    assert counts["team"] == 2
    html = response.content.decode()
    assert 'data-queue="mine"' in html and reverse("channels:log_complaint") in html


def test_every_home_count_is_what_its_list_shows(client, supervisor, frontline):
    """The home counts each queue in disjoint parts (selectors._queue_count_parts); the
    lists filter on the whole queue (selectors.queue_q). They must agree, also for a case
    the user owns, handles and is on the task force of, and for both kinds of revisit."""
    CaseFactory(actor=supervisor, channel_kind="hotline", stage=Stage.IN_PROGRESS,
                tier=Tier.URGENT, handler=supervisor)  # owner, handler and task force
    CaseFactory(actor=supervisor, channel_kind="hotline")
    CaseFactory(stage=Stage.IN_PROGRESS, handler=supervisor)
    CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    CaseFactory(stage=Stage.REVISIT)
    due = CaseFactory(stage=Stage.FEEDBACK_GIVEN)
    Case.objects.filter(pk=due.pk).update(revisit_due_at=timezone.now() - timedelta(hours=1))
    CaseFactory(stage=Stage.FEEDBACK_GIVEN)  # its revisit is not due yet
    CaseFactory(stage=Stage.CLOSED, handler=supervisor)
    client.force_login(supervisor)
    counts = {qc.queue.name: qc.count
              for qc in client.get(reverse("desk:home")).context["queue_counts"]}
    assert set(counts) == {q.name for q in selectors.queues_for(supervisor)}
    assert counts["mine"] == 3 and counts["revisits"] == 2
    for name, count in counts.items():
        assert count == len(_listed(client, name)), name


def test_supervision_queues_are_on_the_home_only_for_supervisors(client, frontline, supervisor):
    client.force_login(frontline)
    names = {qc.queue.name for qc in client.get(reverse("desk:home")).context["queue_counts"]}
    assert not names & {"at_risk", "breached", "approvals"}
    client.force_login(supervisor)
    response = client.get(reverse("desk:home"))
    names = {qc.queue.name for qc in response.context["queue_counts"]}
    assert {"at_risk", "breached", "approvals"} <= names
    assert "supervision" in response.context


@pytest.mark.parametrize("queue", ["at_risk", "breached", "approvals"])
def test_a_frontline_agent_cannot_open_a_supervision_queue(client, frontline, queue):
    client.force_login(frontline)
    assert client.get(reverse("desk:cases"), {"queue": queue}).status_code == 403


def test_queue_lists_match_the_queue_definitions(client, frontline):
    mine = CaseFactory(actor=frontline, channel_kind="hotline")
    other = CaseFactory(stage=Stage.ASSIGNED)
    client.force_login(frontline)
    assert _listed(client, "mine") == {mine.pk}
    assert other.pk in _listed(client, "open") and mine.pk in _listed(client, "team")


def test_home_counts_are_capped(client, frontline, monkeypatch):
    monkeypatch.setattr(selectors.queues, "HOME_COUNT_CAP", 2)
    for _ in range(3):
        CaseFactory()
    client.force_login(frontline)
    response = client.get(reverse("desk:home"))
    team = next(qc for qc in response.context["queue_counts"] if qc.queue.name == "team")
    assert (team.count, team.capped) == (2, True)
    assert 'data-count="2">2+' in response.content.decode()


@pytest.mark.parametrize("url_name", ["desk:home", "desk:cases"])
def test_a_liaison_cannot_open_the_desk(client, liaison, url_name):
    client.force_login(liaison)
    assert client.get(reverse(url_name)).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("desk:cases"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
