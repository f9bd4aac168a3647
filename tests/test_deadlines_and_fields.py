"""Due times per tier (with time-zone edges), protected FSM fields, the reference format."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from importlib import metadata

import pytest
import time_machine
from django.contrib.auth.models import Group

from cases import services
from cases.choices import Clock, Difficulty, NoteKind, Role, Scope, Stage, Tier, Urgency
from cases.models import Case, SlaPolicy
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_django_fsm_2_is_installed_not_the_archived_django_fsm():
    assert metadata.version("django-fsm-2").startswith("4.")
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("django-fsm")


@pytest.mark.parametrize(
    ("urgency", "scope", "difficulty", "tier", "response_h", "solution_h"),
    [
        (Urgency.EMERGENCY, Scope.INDIVIDUAL, Difficulty.FRONTLINE, 1, 1, 24),
        (Urgency.ROUTINE, Scope.GROUP, Difficulty.FRONTLINE, 2, 2, 48),
        (Urgency.ROUTINE, Scope.INDIVIDUAL, Difficulty.CROSS_DEPARTMENT, 2, 2, 48),
        (Urgency.ROUTINE, Scope.INDIVIDUAL, Difficulty.FRONTLINE, 3, 4, 72),
    ],
)
def test_intake_suggests_tier_and_sets_due_times(urgency, scope, difficulty, tier, response_h,
                                                 solution_h):
    case = CaseFactory(urgency=urgency, scope=scope, difficulty=difficulty)
    assert case.suggested_tier == tier and case.tier == Tier.UNTRIAGED
    assert case.response_due_at - case.received_at == dt.timedelta(hours=response_h)
    assert case.solution_due_at - case.received_at == dt.timedelta(hours=solution_h)
    assert case.assign_due_at - case.received_at == dt.timedelta(hours=2)
    assert case.next_due_at == min(case.assign_due_at, case.response_due_at)


def test_confirmed_tier_retimes_running_clocks_from_their_start(supervisor):
    case = CaseFactory()  # suggested tier 3: response 4 h
    services.case_triage(actor=supervisor, case_id=case.pk, urgency=Urgency.EMERGENCY,
                         scope=Scope.INDIVIDUAL, difficulty=Difficulty.FRONTLINE, tier=1)
    case.refresh_from_db()
    assert case.response_due_at - case.received_at == dt.timedelta(hours=1)
    assert case.solution_due_at - case.received_at == dt.timedelta(hours=24)
    row = case.deadlines.get(clock=Clock.RESPONSE)
    assert row.due_at == case.response_due_at
    assert row.risk_at == case.received_at + dt.timedelta(minutes=45)  # 75 %


def test_admin_changed_policy_applies_to_new_cases():
    SlaPolicy.objects.filter(tier=3).update(response_minutes=30)
    case = CaseFactory()
    assert case.response_due_at - case.received_at == dt.timedelta(minutes=30)


def test_due_time_crosses_midnight_in_shanghai():
    # 23:30 local on 30 Nov 2026 (15:30 UTC): tier 3 first response due 03:30 local next day.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI), tick=False):
        case = CaseFactory()
    due_local = case.response_due_at.astimezone(SHANGHAI)
    assert (due_local.date(), due_local.hour, due_local.minute) == (dt.date(2026, 12, 1), 3, 30)
    assert case.response_due_at.utcoffset() == dt.timedelta(0)  # stored in UTC


def test_reference_year_is_the_local_year():
    # 16:30 UTC on 31 Dec is already 00:30 on 1 Jan in Shanghai.
    with time_machine.travel(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC), tick=False):
        case = CaseFactory()
    assert case.reference == f"TS-2027-{case.pk:06d}"
    assert len(case.tracking_code) == 10


def test_feedback_and_revisit_due_times(supervisor):
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI), tick=False):
        case = CaseFactory(stage=Stage.RESOLVED)
    assert case.feedback_due_at - case.resolved_at == dt.timedelta(hours=24)
    with time_machine.travel(dt.datetime(2026, 11, 2, 15, 0, tzinfo=SHANGHAI), tick=False):
        services.case_give_feedback(actor=supervisor, case_id=case.pk, message="m",
                                    preventive_measures="p")
    case.refresh_from_db()
    assert case.revisit_due_at - case.feedback_given_at == dt.timedelta(hours=48)
    assert case.revisits.get().due_at == case.revisit_due_at


def test_progress_note_restarts_progress_clock(supervisor):
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        case = CaseFactory(stage=Stage.IN_PROGRESS)
    assert case.progress_due_at == start + dt.timedelta(hours=24)
    later = start + dt.timedelta(hours=20)
    with time_machine.travel(later, tick=False):
        services.case_add_note(actor=supervisor, case_id=case.pk, body="进展",
                               kind=NoteKind.PROGRESS)
    case.refresh_from_db()
    assert case.progress_due_at == later + dt.timedelta(hours=24)
    assert case.last_progress_at == later
    assert case.deadlines.filter(clock=Clock.PROGRESS, stopped_at__isnull=True).count() == 1


def test_late_stop_counts_as_breach_without_a_sweep(supervisor):
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        case = CaseFactory(stage=Stage.ASSIGNED)
    with time_machine.travel(start + dt.timedelta(hours=5), tick=False):
        services.case_start(actor=supervisor, case_id=case.pk, contact_summary="致电客户")
    case.refresh_from_db()
    assert case.response_breached and case.ever_breached
    assert case.deadlines.get(clock=Clock.RESPONSE).state == "breached"


def test_stage_and_tier_cannot_be_assigned():
    case = CaseFactory()
    with pytest.raises(AttributeError):
        case.stage = Stage.CLOSED
    with pytest.raises(AttributeError):
        case.tier = Tier.URGENT
    assert Case.objects.get(pk=case.pk).stage == Stage.RECEIVED


def test_admin_cannot_set_stage_or_tier(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)
    url = f"/admin/cases/case/{case.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="stage"' not in page.content.decode()
    assert 'name="tier"' not in page.content.decode()
    client.post(url, {"stage": "closed", "tier": "1", "subject": "x"})
    case.refresh_from_db()
    assert case.stage == Stage.RECEIVED and case.tier == Tier.UNTRIAGED


def test_admin_retier_action_goes_through_the_service(client, admin_user):
    # Superuser status grants no desk role: the admin action needs the supervisor role too.
    admin_user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(admin_user)
    response = client.post("/admin/cases/case/", {
        "action": "retier_action", "_selected_action": [case.pk], "apply": "1",
        "tier": "1", "reason": "涉及人身安全",
    })
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.tier == Tier.URGENT and case.retiered
    assert case.transitions.get(name="retier").actor == admin_user


def test_admin_action_refusal_is_reported_not_a_500(client, admin_user):
    case = CaseFactory(stage=Stage.CLOSED)
    client.force_login(admin_user)
    response = client.post("/admin/cases/case/", {
        "action": "invalidate_action", "_selected_action": [case.pk], "apply": "1",
        "reason": "x",
    }, follow=True)
    assert response.status_code == 200
    assert "not possible" in response.content.decode()
    assert Case.objects.get(pk=case.pk).stage == Stage.CLOSED


def test_stale_version_is_a_conflict(supervisor):
    case = CaseFactory(stage=Stage.TRIAGED)
    seen = case.version
    services.case_retier(actor=supervisor, case_id=case.pk, tier=1, reason="a")
    with pytest.raises(services.ConflictError):
        services.case_retier(actor=supervisor, case_id=case.pk, tier=2, reason="b",
                             expected_version=seen)
    assert Case.objects.get(pk=case.pk).tier == 1
