"""The stage and tier machines: every transition, allowed and forbidden, per role."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases import services
from cases.choices import (
    Difficulty,
    NoteKind,
    Role,
    Scope,
    Stage,
    Tier,
    Urgency,
)
from cases.models import Case, CaseTransition
from tests.factories import CaseFactory, UserFactory, root_cause

pytestmark = pytest.mark.django_db

ROLES = {
    "frontline": Role.FRONTLINE,
    "senior": Role.SENIOR,
    "supervisor": Role.SUPERVISOR,
    "liaison": Role.LIAISON,
    "admin": Role.ADMIN,
}


def _user(role_key: str):
    return UserFactory(username=f"u-{role_key}", role=ROLES[role_key])


def _triage(case, actor, tier=Tier.ROUTINE):
    return services.case_triage(actor=actor, case_id=case.pk, urgency=Urgency.ROUTINE,
                                scope=Scope.INDIVIDUAL, difficulty=Difficulty.FRONTLINE,
                                tier=tier)


# (action, starting stage, callable(case, actor)) walked for every role below.
def _assign_self(case, actor):
    return services.case_assign(actor=actor, case_id=case.pk, handler=actor)


ACTIONS = {
    "triage": (Stage.RECEIVED, _triage),
    "retier": (Stage.TRIAGED, lambda c, a: services.case_retier(
        actor=a, case_id=c.pk, tier=Tier.IMPORTANT, reason="影响更大")),
    "invalidate": (Stage.RECEIVED, lambda c, a: services.case_invalidate(
        actor=a, case_id=c.pk, reason="重复提交")),
    "reopen": (Stage.CLOSED, lambda c, a: services.case_reopen(
        actor=a, case_id=c.pk, reason="客户再次来电")),
    "transfer": (Stage.TRIAGED, lambda c, a: services.case_transfer_ownership(
        actor=a, case_id=c.pk, new_owner=UserFactory(username="new-owner", role=Role.SENIOR),
        reason="休假")),
}

# Expected outcome of each action per role for a case the actor does not own or handle.
MATRIX = {
    "triage": {"frontline": True, "senior": True, "supervisor": True, "liaison": False,
               "admin": False},
    "retier": {"frontline": False, "senior": False, "supervisor": True, "liaison": False,
               "admin": False},
    "invalidate": {"frontline": False, "senior": False, "supervisor": True, "liaison": False,
                   "admin": False},
    "reopen": {"frontline": False, "senior": False, "supervisor": True, "liaison": False,
               "admin": False},
    "transfer": {"frontline": False, "senior": False, "supervisor": True, "liaison": False,
                 "admin": False},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role_key", list(ROLES))
def test_role_matrix_for_non_owners(action, role_key):
    stage, run = ACTIONS[action]
    case = CaseFactory(stage=stage)
    actor = _user(role_key)
    if MATRIX[action][role_key]:
        run(case, actor)
        assert CaseTransition.objects.filter(case=case, actor=actor).exists()
    else:
        before = Case.objects.get(pk=case.pk)
        with pytest.raises(services.ActionForbidden):
            run(case, actor)
        after = Case.objects.get(pk=case.pk)
        assert (after.stage, after.tier, after.owner_id, after.version) == (
            before.stage, before.tier, before.owner_id, before.version)


def test_owner_may_reopen_and_invalidate_own_case(frontline):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    assert case.owner == frontline
    services.case_invalidate(actor=frontline, case_id=case.pk, reason="客户撤回")
    assert Case.objects.get(pk=case.pk).stage == Stage.INVALID


def test_full_happy_path_as_frontline_agent_on_tier3(frontline):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    _triage(case, frontline)
    _assign_self(case, frontline)
    services.case_start(actor=frontline, case_id=case.pk)  # hotline: already responded
    services.case_add_note(actor=frontline, case_id=case.pk, body="已联系物流",
                           kind=NoteKind.PROGRESS)
    services.case_resolve(actor=frontline, case_id=case.pk, solution="补发",
                          root_cause=root_cause())
    services.case_give_feedback(actor=frontline, case_id=case.pk, message="已补发",
                                preventive_measures="更换快递")
    services.case_record_revisit(actor=frontline, case_id=case.pk, score=5)
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED and case.satisfied is True and case.closed_at
    names = list(case.transitions.filter(field="stage").values_list("name", flat=True))
    assert names == ["receive", "triage", "assign", "start", "resolve", "give_feedback",
                     "record_revisit"]
    assert not case.deadlines.filter(stopped_at__isnull=True).exists()


def test_frontline_cannot_handle_tier2_even_as_owner(frontline, senior):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    _triage(case, frontline, tier=Tier.IMPORTANT)
    with pytest.raises(services.InvalidInput, match="senior"):
        services.case_assign(actor=frontline, case_id=case.pk, handler=frontline)
    services.case_assign(actor=frontline, case_id=case.pk, handler=senior)
    with pytest.raises(services.ActionForbidden):
        services.case_start(actor=frontline, case_id=case.pk)
    services.case_start(actor=senior, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).stage == Stage.IN_PROGRESS


def test_tier1_needs_task_force_and_department(supervisor, senior):
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.URGENT)
    with pytest.raises(services.InvalidInput, match="task force"):
        services.case_assign(actor=supervisor, case_id=case.pk, handler=senior)
    from tests.factories import DepartmentFactory

    with pytest.raises(services.InvalidInput, match="department"):
        services.case_assign(actor=supervisor, case_id=case.pk, handler=senior,
                             task_force=[senior, supervisor])
    services.case_assign(actor=supervisor, case_id=case.pk, handler=senior,
                         task_force=[senior, supervisor], department=DepartmentFactory())
    case.refresh_from_db()
    assert set(case.task_force.all()) == {senior, supervisor}
    assert case.stage == Stage.ASSIGNED


def test_non_team_agent_cannot_resolve(frontline, frontline2):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    with pytest.raises(services.ActionForbidden):
        services.case_resolve(actor=frontline2, case_id=case.pk, solution="x",
                              root_cause=root_cause())


@pytest.mark.parametrize(
    ("stage", "call", "message"),
    [
        (Stage.RECEIVED, lambda c, a: services.case_resolve(
            actor=a, case_id=c.pk, solution="x", root_cause=root_cause()), "not possible while"),
        (Stage.CLOSED, lambda c, a: services.case_give_feedback(
            actor=a, case_id=c.pk, message="m", preventive_measures="p"), "not possible while"),
        (Stage.IN_PROGRESS, lambda c, a: services.case_reopen(
            actor=a, case_id=c.pk, reason="r"), "not possible while"),
        (Stage.INVALID, lambda c, a: services.case_invalidate(
            actor=a, case_id=c.pk, reason="r"), "not possible while"),
    ],
)
def test_illegal_transitions_raise_clear_errors(stage, call, message, supervisor):
    case = CaseFactory(stage=stage)
    with pytest.raises(services.ActionNotAllowed, match=message):
        call(case, supervisor)


def test_resolve_requires_first_response(supervisor):
    case = CaseFactory(stage=Stage.ASSIGNED)
    with pytest.raises(services.InvalidInput, match="first response"):
        services.case_start(actor=supervisor, case_id=case.pk)


def test_resolve_requires_solution_and_root_cause(supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    with pytest.raises(services.InvalidInput):
        services.case_resolve(actor=supervisor, case_id=case.pk, solution="  ",
                              root_cause=root_cause())
    with pytest.raises(services.InvalidInput):
        services.case_resolve(actor=supervisor, case_id=case.pk, solution="ok", root_cause=None)
    assert Case.objects.get(pk=case.pk).stage == Stage.IN_PROGRESS


def test_retier_needs_reason_and_marks_case(supervisor):
    case = CaseFactory(stage=Stage.TRIAGED)
    with pytest.raises(services.InvalidInput):
        services.case_retier(actor=supervisor, case_id=case.pk, tier=Tier.URGENT, reason="")
    services.case_retier(actor=supervisor, case_id=case.pk, tier=Tier.URGENT, reason="涉及安全")
    case.refresh_from_db()
    assert case.tier == Tier.URGENT and case.retiered
    log = case.transitions.get(name="retier")
    assert (log.source, log.target, log.note, log.actor) == ("3", "1", "涉及安全", supervisor)


def test_confirming_tier_at_triage_is_not_a_retier(frontline):
    case = CaseFactory()
    _triage(case, frontline, tier=Tier.IMPORTANT)
    case.refresh_from_db()
    assert case.tier == Tier.IMPORTANT and not case.retiered


def test_ownership_transfer_is_logged(supervisor, frontline, senior):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    services.case_transfer_ownership(actor=supervisor, case_id=case.pk, new_owner=senior,
                                     reason="调岗")
    case.refresh_from_db()
    assert case.owner == senior
    log = case.transitions.get(field="owner")
    assert log.source == str(frontline) and log.target == str(senior) and log.note == "调岗"


def test_feedback_blocked_by_pending_compensation_then_names_it(supervisor, senior):
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.IMPORTANT, handler=senior)
    comp = services.compensation_propose(actor=senior, case_id=case.pk, kind="refund",
                                         amount=Decimal("800"), description="退款")
    assert comp.status == "proposed"  # above the 500 threshold
    services.case_resolve(actor=senior, case_id=case.pk, solution="退款", root_cause=root_cause())
    with pytest.raises(services.ActionNotAllowed, match="approval"):
        services.case_give_feedback(actor=senior, case_id=case.pk, message="m",
                                    preventive_measures="p")
    with pytest.raises(services.ActionForbidden):
        services.compensation_decide(actor=senior, compensation_id=comp.pk, approve=True)
    services.compensation_decide(actor=supervisor, compensation_id=comp.pk, approve=True)
    services.case_give_feedback(actor=senior, case_id=case.pk, message="已退款",
                                preventive_measures="核对流程")
    notice = case.notices.get(kind="feedback")
    assert "800" in notice.body and "核对流程" in notice.body


def test_small_compensation_is_approved_at_once(senior):
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.IMPORTANT, handler=senior)
    comp = services.compensation_propose(actor=senior, case_id=case.pk, kind="coupon",
                                         amount=Decimal("50"))
    assert comp.status == "approved" and comp.decided_by == senior


@pytest.mark.parametrize("amount", ["-1", "abc", "1e12", "NaN"])
def test_bad_compensation_amount_is_refused(senior, amount):
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.IMPORTANT, handler=senior)
    with pytest.raises(services.InvalidInput):
        services.compensation_propose(actor=senior, case_id=case.pk, kind="coupon",
                                      amount=amount)
    assert not case.compensations.exists()


def test_resolving_with_a_compensation_records_both_in_one_save(frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    version = Case.objects.get(pk=case.pk).version
    offer = services.CompensationOffer(kind="refund", amount=Decimal("800"),
                                       description=" 部分退款 ")

    resolved = services.case_resolve(actor=frontline, case_id=case.pk, solution="更换新机",
                                     root_cause=root_cause(), compensation=offer)

    comp = case.compensations.get()
    assert (comp.kind, comp.amount, comp.description, comp.status, comp.proposed_by) == (
        "refund", Decimal("800.00"), "部分退款", "proposed", frontline)
    stored = Case.objects.get(pk=case.pk)
    assert stored.stage == Stage.RESOLVED and stored.version == resolved.version == version + 1


@pytest.mark.parametrize(("offer", "field"), [
    (services.CompensationOffer(kind="refund", amount="-5"), "compensation_amount"),
    (services.CompensationOffer(kind="gold", amount=Decimal("5")), "compensation_kind"),
])
def test_a_bad_compensation_leaves_the_case_unresolved(frontline, offer, field):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    before = Case.objects.get(pk=case.pk)

    with pytest.raises(services.InvalidInput) as info:
        services.case_resolve(actor=frontline, case_id=case.pk, solution="更换新机",
                              root_cause=root_cause(), compensation=offer)

    assert info.value.field == field
    after = Case.objects.get(pk=case.pk)
    assert (after.stage, after.version, after.solution) == (
        Stage.IN_PROGRESS, before.version, before.solution)
    assert not case.compensations.exists()
    assert not CaseTransition.objects.filter(case=case, name="resolve").exists()


def test_dissatisfied_revisit_opens_follow_up_then_closes(supervisor):
    case = CaseFactory(stage=Stage.REVISIT)
    services.case_record_revisit(actor=None, case_id=case.pk, score=2, method="survey")
    case.refresh_from_db()
    assert case.stage == Stage.FOLLOW_UP and case.satisfied is False
    assert case.follow_up_due_at == case.revisit_done_at + __import__("datetime").timedelta(
        hours=48)
    with pytest.raises(services.ActionNotAllowed, match="already been answered"):
        services.case_record_revisit(actor=supervisor, case_id=case.pk, score=5)
    services.case_complete_follow_up(actor=supervisor, case_id=case.pk, message="追加补偿")
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED and case.follow_up_done_at
    assert case.notices.filter(kind="follow_up").exists()


def test_system_actor_only_for_system_transitions():
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    with pytest.raises(services.ActionForbidden):
        services.case_resolve(actor=None, case_id=case.pk, solution="x", root_cause=root_cause())
    services.case_wait_for_department(actor=None, case_id=case.pk)
    services.case_resume(actor=None, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).stage == Stage.IN_PROGRESS


def test_reopen_restarts_solution_clock(supervisor):
    case = CaseFactory(stage=Stage.CLOSED)
    services.case_reopen(actor=supervisor, case_id=case.pk, reason="问题复发")
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS and case.reopen_count == 1 and case.closed_at is None
    assert case.deadlines.filter(clock="solution", stopped_at__isnull=True).exists()
    # and it can go round again: a second feedback round gets a second revisit
    services.case_resolve(actor=supervisor, case_id=case.pk, solution="更换",
                          root_cause=root_cause())
    services.case_give_feedback(actor=supervisor, case_id=case.pk, message="已更换",
                                preventive_measures="加强质检")
    assert list(case.revisits.values_list("round", flat=True)) == [1, 2]
    assert case.notices.filter(kind="feedback").count() == 2


def test_invalidate_stops_every_clock(supervisor):
    case = CaseFactory(stage=Stage.ASSIGNED)
    services.case_invalidate(actor=supervisor, case_id=case.pk, reason="恶意投诉")
    case.refresh_from_db()
    assert case.stage == Stage.INVALID and case.closing_reason == "恶意投诉"
    assert not case.deadlines.filter(stopped_at__isnull=True).exists()


def test_invalidate_on_a_stale_view_is_a_conflict_and_changes_nothing(supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    seen = case.version
    services.case_resolve(actor=supervisor, case_id=case.pk, solution="补发",
                          root_cause=root_cause())
    with pytest.raises(services.ConflictError):
        services.case_invalidate(actor=supervisor, case_id=case.pk, reason="撤回",
                                 expected_version=seen)
    case.refresh_from_db()
    assert case.stage == Stage.RESOLVED and case.closing_reason == ""
