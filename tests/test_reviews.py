"""The complainant's review request 申请核查 (issue 19 item 4): services, authorization,
KPIs and bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.choices import Clock, CompensationStatus, ReviewOutcome, Role, Stage
from cases.models import Alert, Case, CaseDeadline, CaseReview, DeskSettings, Notice
from cases.models.notices import NoticeKind
from cases.services import ActionForbidden, ActionNotAllowed, CompensationOffer, InvalidInput
from cases.services.reviews import review_assign, review_conclude, review_request
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    return (case.stage, case.version, case.review_requested_at, CaseReview.objects.count(),
            Notice.objects.filter(kind__startswith="review").count())


@pytest.mark.parametrize("stage", [Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.FOLLOW_UP,
                                   Stage.CLOSED])
def test_a_review_opens_after_feedback_with_its_own_clock(stage, frontline):
    case = CaseFactory(stage=stage, handler=frontline)

    review = review_request(case_id=case.pk, reason="  补发仍未收到。 ", via="survey")

    case.refresh_from_db()
    assert case.stage == Stage.REVIEW and review.reason == "补发仍未收到。"
    assert review.previous_stage == stage
    running = case.deadlines.filter(stopped_at__isnull=True)
    assert [row.clock for row in running] == [Clock.REVIEW]
    assert case.review_due_at == case.review_requested_at + timedelta(days=15)
    notice = Notice.objects.get(case=case, kind=NoticeKind.REVIEW_RECEIVED)
    assert case.reference in notice.body


@pytest.mark.parametrize("stage", [Stage.RECEIVED, Stage.IN_PROGRESS, Stage.RESOLVED,
                                   Stage.INVALID])
def test_a_review_before_feedback_is_refused_and_changes_nothing(stage, frontline):
    case = CaseFactory(stage=stage, handler=frontline if stage != Stage.RECEIVED else None)
    before = _snapshot(case)
    with pytest.raises(ActionNotAllowed, match="once we have sent you our answer"):
        review_request(case_id=case.pk, reason="不满意", via="track")
    assert _snapshot(case) == before


@pytest.mark.parametrize("reason", ["", "   ", "长" * 2001])
def test_a_bad_reason_is_refused_and_changes_nothing(reason, frontline):
    case = CaseFactory(stage=Stage.CLOSED, handler=frontline)
    before = _snapshot(case)
    with pytest.raises(InvalidInput) as exc:
        review_request(case_id=case.pk, reason=reason, via="track")
    assert exc.value.field == "reason"
    assert _snapshot(case) == before


def test_a_second_request_gets_a_clear_message(frontline):
    case = CaseFactory(stage=Stage.REVIEW, handler=frontline)
    before = _snapshot(case)
    with pytest.raises(ActionNotAllowed, match="already asked for a review"):
        review_request(case_id=case.pk, reason="再次申请", via="track")
    assert _snapshot(case) == before


def test_a_request_on_an_unknown_case_is_refused():
    with pytest.raises(ActionNotAllowed):
        review_request(case_id=987654, reason="不满意", via="track")
    assert CaseReview.objects.count() == 0


def test_a_closed_case_may_be_reviewed_only_within_the_window(frontline):
    DeskSettings.objects.update_or_create(pk=1, defaults={"review_window_days": 10})
    case = CaseFactory(stage=Stage.CLOSED, handler=frontline)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=11))
    before = _snapshot(case)
    with pytest.raises(ActionNotAllowed, match="more than 10 days ago"):
        review_request(case_id=case.pk, reason="不满意", via="track")
    assert _snapshot(case) == before


# --- who reviews --------------------------------------------------------------------------------
@pytest.fixture
def reviewed(frontline):
    """A case owned and handled by a frontline agent, under review."""
    return CaseFactory(stage=Stage.REVIEW, handler=frontline)


def test_a_supervisor_assigns_and_the_reviewer_changes_the_decision(reviewed, supervisor):
    review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=supervisor)
    review = review_conclude(
        actor=supervisor, case_id=reviewed.pk, outcome=ReviewOutcome.CHANGED,
        reasons="物流记录显示未妥投。", new_solution="全额退款。",
        compensation=CompensationOffer(kind="refund", amount=Decimal("199.00")),
    )
    reviewed.refresh_from_db()
    assert reviewed.stage == Stage.CLOSED and reviewed.review_changed is True
    assert reviewed.solution == "全额退款。" and review.concluded_at is not None
    assert reviewed.review_done_at is not None and reviewed.closed_at is not None
    assert reviewed.compensations.get(kind="refund").status == CompensationStatus.APPROVED
    notice = Notice.objects.get(case=reviewed, kind=NoticeKind.REVIEW_RESULT)
    assert "全额退款" in notice.body and "199.00" in notice.body
    assert reviewed.transitions.filter(name="conclude_review", actor=supervisor).exists()
    assert not CaseDeadline.objects.filter(case=reviewed, stopped_at__isnull=True).exists()


def test_a_retried_conclusion_changes_nothing_more(reviewed, supervisor):
    review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=supervisor)
    kwargs = {"actor": supervisor, "case_id": reviewed.pk, "outcome": ReviewOutcome.CONFIRMED,
              "reasons": "处理得当。"}
    first = review_conclude(**kwargs)
    again = review_conclude(**kwargs)
    assert again.pk == first.pk and again.concluded_at == first.concluded_at
    assert Notice.objects.filter(case=reviewed, kind=NoticeKind.REVIEW_RESULT).count() == 1
    with pytest.raises(ActionNotAllowed, match="already been concluded"):
        review_conclude(**{**kwargs, "outcome": ReviewOutcome.CHANGED, "new_solution": "x"})


def test_a_senior_agent_reviews_a_frontline_agents_case(reviewed, supervisor, senior):
    review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=senior)
    assert Alert.objects.filter(recipient=senior, case=reviewed, kind="review_assigned").exists()
    again = review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=senior)  # retried
    assert again.reviewer == senior and Alert.objects.filter(recipient=senior).count() == 1
    review_conclude(actor=senior, case_id=reviewed.pk, outcome=ReviewOutcome.CONFIRMED,
                    reasons="处理得当。")
    reviewed.refresh_from_db()
    assert reviewed.stage == Stage.CLOSED and reviewed.review_changed is False


def test_a_senior_agent_may_not_review_a_senior_agents_case(supervisor, senior):
    other_senior = UserFactory(username="senior2", role=Role.SENIOR)
    case = CaseFactory(stage=Stage.REVIEW, handler=other_senior)
    with pytest.raises(InvalidInput, match="supervisor"):
        review_assign(actor=supervisor, case_id=case.pk, reviewer=senior)
    assert CaseReview.objects.get(case=case).reviewer is None


def test_the_original_handler_may_never_review_even_as_supervisor(supervisor):
    # The factory's supervisor handles this case (and owns the tier decisions).
    case = CaseFactory(stage=Stage.REVIEW)
    handler = case.handler
    assert handler.has_role(Role.SUPERVISOR)
    with pytest.raises(ActionForbidden, match="someone else must review it"):
        review_assign(actor=handler, case_id=case.pk, reviewer=handler)
    with pytest.raises(InvalidInput, match="someone else must review it"):
        review_assign(actor=supervisor, case_id=case.pk, reviewer=handler)
    with pytest.raises(ActionForbidden):
        review_conclude(actor=handler, case_id=case.pk, outcome=ReviewOutcome.CONFIRMED,
                        reasons="自己核查自己")
    assert Case.objects.get(pk=case.pk).stage == Stage.REVIEW


def test_an_admin_is_no_reviewer_without_the_supervisor_role(reviewed, supervisor, admin_user):
    with pytest.raises(InvalidInput):
        review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=admin_user)
    with pytest.raises(ActionForbidden):
        review_assign(actor=admin_user, case_id=reviewed.pk, reviewer=supervisor)


@pytest.mark.parametrize("who", ["frontline", "frontline2", "senior", "liaison"])
def test_only_a_supervisor_assigns(reviewed, who, request):
    user = request.getfixturevalue(who)
    with pytest.raises(ActionForbidden):
        review_assign(actor=user, case_id=reviewed.pk, reviewer=user)


@pytest.mark.parametrize("who", ["frontline", "frontline2", "liaison"])
def test_agents_and_liaisons_cannot_conclude(reviewed, who, request):
    user = request.getfixturevalue(who)
    with pytest.raises(ActionForbidden):
        review_conclude(actor=user, case_id=reviewed.pk, outcome=ReviewOutcome.CONFIRMED,
                        reasons="x")
    assert Case.objects.get(pk=reviewed.pk).stage == Stage.REVIEW


def test_an_unassigned_reviewer_cannot_conclude(reviewed, supervisor):
    other = UserFactory(username="boss2", role=Role.SUPERVISOR)
    review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=other)
    with pytest.raises(ActionForbidden, match="assigned to someone else"):
        review_conclude(actor=supervisor, case_id=reviewed.pk,
                        outcome=ReviewOutcome.CONFIRMED, reasons="x")


@pytest.mark.parametrize("kwargs,field", [
    ({"outcome": "maybe", "reasons": "x"}, "outcome"),
    ({"outcome": ReviewOutcome.CONFIRMED, "reasons": "  "}, "reasons"),
    ({"outcome": ReviewOutcome.CHANGED, "reasons": "x", "new_solution": ""}, "new_solution"),
    ({"outcome": ReviewOutcome.CONFIRMED, "reasons": "x", "new_solution": "退款"},
     "new_solution"),
])
def test_a_bad_conclusion_changes_nothing(reviewed, supervisor, kwargs, field):
    review_assign(actor=supervisor, case_id=reviewed.pk, reviewer=supervisor)
    before = _snapshot(reviewed)
    with pytest.raises(InvalidInput) as exc:
        review_conclude(actor=supervisor, case_id=reviewed.pk, **kwargs)
    assert exc.value.field == field
    assert _snapshot(reviewed) == before
    assert CaseReview.objects.get(case=reviewed).concluded_at is None
