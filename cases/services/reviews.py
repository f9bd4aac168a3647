"""The complainant's review request 申请核查 (issue 19 item 4).

A complainant not satisfied with the answer asks, once, for a review: from the survey page or
the progress page (``review_request``, no login; the view has checked the survey link or the
tracking code). The case moves to "under review" and the REVIEW clock starts (SlaPolicy
``review_minutes``). A supervisor assigns the review, or takes it (``review_assign``), to a
reviewer above the original handler and never the handler or owner
(``cases.permissions.can_review``). The reviewer confirms or changes the decision
(``review_conclude``): the reasons, and for a change the new solution and any compensation
through the compensation service. The case closes again, the customer is told on their
channel, and /track/ shows the result.

Every action locks the case row, checks everything before writing, and raises a DomainError
that changes nothing; a retried conclusion is answered with the review as it stands.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import REVIEWABLE_STAGES, Clock, NoteKind, ReviewOutcome, Stage
from cases.models import Alert, Case, CaseNote, CaseReview, DeskSettings, User
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.compensation import CompensationOffer, compensation_record
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.lifecycle import compensation_summary
from cases.services.notices import notice_queue
from cases.services.recusal import ensure_not_recused
from cases.services.transitions import lock_case, run_case_transition, save_case

ALERT_REVIEW_ASSIGNED = "review_assigned"
REASON_MAX_LENGTH = 2000
CONCLUSION_MAX_LENGTH = 4000


class ReviewAlreadyRequested(ActionNotAllowed):
    """The case had its one review already."""


def _text(value: str | None, *, field: str, max_length: int, required: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(required, field=field)
    if len(text) > max_length:
        raise InvalidInput(_("Keep it under %(max)s characters.") % {"max": max_length},
                           field=field)
    return text


def review_open_until(case: Case) -> timezone.datetime | None:
    """Until when a closed case may still be reviewed (None: not closed)."""
    if case.stage != Stage.CLOSED or case.closed_at is None:
        return None
    return case.closed_at + timedelta(days=DeskSettings.get().review_window_days)


def review_possible(case: Case) -> bool:
    """May the complainant ask for a review now? (Pure but for the settings read; the
    service checks the same under the row lock.)"""
    if case.review_requested_at is not None or case.stage not in REVIEWABLE_STAGES:
        return False
    until = review_open_until(case)
    return until is None or timezone.now() <= until


def _check_requestable(case: Case) -> None:
    if case.review_requested_at is not None or CaseReview.objects.filter(case=case).exists():
        raise ReviewAlreadyRequested(
            _("You have already asked for a review of this complaint; each complaint is "
              "reviewed once. You can follow the review on the progress page.")
        )
    if case.stage not in REVIEWABLE_STAGES:
        raise ActionNotAllowed(
            _("A review can be asked for once we have sent you our answer.")
        )
    until = review_open_until(case)
    if until is not None and timezone.now() > until:
        raise ActionNotAllowed(
            _("This complaint was closed more than %(days)s days ago; a review can no longer "
              "be asked for. Please submit a new complaint.")
            % {"days": DeskSettings.get().review_window_days}
        )


@transaction.atomic
def review_request(*, case_id: int, reason: str, via: str) -> CaseReview:
    """The complainant asks for a review (``via``: a ReviewVia value). Once per case."""
    reason = _text(reason, field="reason", max_length=REASON_MAX_LENGTH,
                   required=_("Tell us why you are not satisfied with our answer."))
    case = lock_case(case_id)
    _check_requestable(case)
    previous = case.stage
    run_case_transition(case, "request_review", None, note=reason)
    now = timezone.now()
    clocks.stop_all_clocks(case, now)  # a running revisit or follow-up gives way
    clocks.start_clock(case, Clock.REVIEW, now, clocks.policy_for(case.tier))
    case.review_requested_at, case.closed_at = now, None
    review = CaseReview.objects.create(case=case, reason=reason, via=via,
                                       previous_stage=previous, requested_at=now)
    CaseNote.objects.create(case=case, kind=NoteKind.CUSTOMER_MESSAGE, body=reason,
                            visible_to_customer=False, created_at=now)
    from cases.services.intake import track_url

    notice_queue(case=case, kind=NoticeKind.REVIEW_RECEIVED, key="review", context={
        "due_on": formats.date_format(timezone.localtime(case.review_due_at), "Y-m-d"),
        "track_url": track_url(case),
    })
    _save(case)
    return review


def _save(case: Case) -> None:
    clocks.refresh_case_sla(case)
    save_case(case)


def _review_of(case: Case) -> CaseReview:
    review = CaseReview.objects.select_for_update().filter(case=case).first()
    if review is None:
        raise ActionNotAllowed(_("Nobody asked for a review of this case."))
    return review


def reviewer_refusal(case: Case, user: User) -> str:
    """Why ``user`` may not review ``case`` ("" when they may)."""
    if perms.can_review(case, user):
        return ""
    if perms.is_agent(user) and perms.is_case_team(case, user):
        return _("%(name)s handled or owns this case: someone else must review it.") % {
            "name": user.get_full_name() or user.get_username()}
    return _("A review is done by a supervisor, or by a senior agent when a frontline agent "
             "handled the case.")


def _refuse_reviewer(case: Case, user: User, *, self_: bool) -> None:
    """Raise why ``user`` may not review ``case`` (ActionForbidden for the actor themselves,
    InvalidInput for a reviewer they chose); nothing when they may."""
    why = reviewer_refusal(case, user)
    if why and self_:
        raise ActionForbidden(why)
    if why:
        raise InvalidInput(why, field="reviewer")


@transaction.atomic
def review_assign(*, actor: User, case_id: int, reviewer: User) -> CaseReview:
    """A supervisor gives the review to ``reviewer`` (themselves: taking it). Assigning the
    same reviewer again changes nothing."""
    case = lock_case(case_id)
    if not perms.is_supervisor(actor):
        raise ActionForbidden(_("Only a supervisor assigns reviews."))
    review = _review_of(case)
    if case.stage != Stage.REVIEW:
        raise ActionNotAllowed(_("This review has already been concluded."))
    _refuse_reviewer(case, reviewer, self_=reviewer.pk == actor.pk)
    ensure_not_recused(case, [reviewer], field="reviewer")
    if review.reviewer_id == reviewer.pk:
        return review
    now = timezone.now()
    review.reviewer, review.assigned_by, review.assigned_at = reviewer, actor, now
    review.save(update_fields=["reviewer", "assigned_by", "assigned_at"])
    CaseNote.objects.create(
        case=case, kind=NoteKind.INTERNAL, author=actor, created_at=now,
        body=_("Review assigned to %(name)s.")
        % {"name": reviewer.get_full_name() or reviewer.get_username()},
    )
    if reviewer.pk != actor.pk:
        Alert.objects.create(
            recipient=reviewer, case=case, kind=ALERT_REVIEW_ASSIGNED, created_at=now,
            message=_("Review of %(ref)s assigned to you: the customer asked for a review of "
                      "the answer.") % {"ref": case.reference},
        )
    _save(case)
    return review


@transaction.atomic
def review_conclude(
    *, actor: User, case_id: int, outcome: str, reasons: str, new_solution: str = "",
    compensation: CompensationOffer | None = None, expected_version: int | None = None,
) -> CaseReview:
    """The assigned reviewer confirms or changes the decision. A change needs the new
    solution; compensation (optional) goes through the compensation service. The case closes
    and the customer is told. A retry of the same conclusion returns the review unchanged."""
    case = lock_case(case_id, expected_version)
    review = _review_of(case)
    if review.concluded_at is not None:
        if review.reviewer_id == actor.pk and review.outcome == outcome:
            return review
        raise ActionNotAllowed(_("This review has already been concluded."))
    _refuse_reviewer(case, actor, self_=True)
    if review.reviewer_id != actor.pk:
        raise ActionForbidden(_("This review is assigned to someone else; a supervisor "
                                "assigns it (or takes it) first."))
    if outcome not in ReviewOutcome.values:
        raise InvalidInput(_("Choose whether the decision is confirmed or changed."),
                           field="outcome")
    reasons = _text(reasons, field="reasons", max_length=CONCLUSION_MAX_LENGTH,
                    required=_("Give the reasons for the conclusion."))
    changed = outcome == ReviewOutcome.CHANGED
    new_solution = (new_solution or "").strip()
    if changed:
        new_solution = _text(new_solution, field="new_solution",
                             max_length=CONCLUSION_MAX_LENGTH,
                             required=_("Describe the new solution."))
        if compensation is not None:
            compensation_record(case, actor, compensation)
    elif compensation is not None or new_solution:
        raise InvalidInput(_("A confirmed decision has no new solution or compensation."),
                           field="new_solution")
    label = ReviewOutcome(outcome).label
    with translation.override(case.customer.language or "zh-hans"):
        told = {"outcome": str(label), "solution": new_solution or _("unchanged")}
    run_case_transition(case, "conclude_review", actor, note=f"{label}: {reasons}")
    now = timezone.now()
    clocks.stop_clock(case, Clock.REVIEW, now)
    case.review_changed, case.closed_at = changed, now
    if changed:
        case.solution = new_solution
    review.outcome, review.conclusion, review.new_solution = outcome, reasons, new_solution
    review.concluded_at = now
    review.save()
    from cases.services.intake import track_url

    notice_queue(case=case, kind=NoticeKind.REVIEW_RESULT, key="result", context={
        **told, "message": reasons,
        "compensation": compensation_summary(case), "track_url": track_url(case),
    })
    _save(case)
    return review
