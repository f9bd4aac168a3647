"""Domain actions of the handling process: one function per user intent. Each runs in one
transaction, locks the case, checks the actor, runs the django-fsm transition, records it,
moves the deadline clocks, saves, and queues side effects after commit."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import (
    HANDLING_STAGES,
    Clock,
    CompensationStatus,
    Difficulty,
    NoteKind,
    RevisitMethod,
    Scope,
    Stage,
    Tier,
    Urgency,
)
from cases.models import (
    Case,
    CaseNote,
    Department,
    Revisit,
    RootCause,
    User,
)
from cases.models.letters import LetterMode
from cases.models.notices import NoticeKind
from cases.services import clocks, pauses, routing, statutory
from cases.services.attachments import atomic_with_files, attach_files
from cases.services.awaiting_reply import customer_answered
from cases.services.compensation import CompensationOffer, compensation_record
from cases.services.desk_config import desk_config
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.mentions import mentions_alert_note
from cases.services.notices import notice_queue
from cases.services.recusal import ensure_not_recused
from cases.services.transitions import (
    lock_case,
    log_change,
    run_case_transition,
    save_case,
)
from channels.attachments import CheckedFile


def suggest_tier(*, urgency: str, scope: str, difficulty: str) -> int:
    """SPEC's grading: an emergency (safety or property loss) is tier 1; a group complaint
    or one needing another department is tier 2; everything else is routine tier 3."""
    if urgency == Urgency.EMERGENCY:
        return Tier.URGENT
    if scope == Scope.GROUP or difficulty == Difficulty.CROSS_DEPARTMENT:
        return Tier.IMPORTANT
    return Tier.ROUTINE


def _require(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(message, field=field)
    return text


def _finish(case: Case) -> Case:
    pauses.end_with_case(case)
    clocks.refresh_case_sla(case)
    save_case(case)
    return case


def record_first_response(case: Case, actor: User | None, at: timezone.datetime) -> None:
    """The first contact or customer-visible reply stops the response clock (later ones do
    nothing). Call with the case locked; the caller saves it."""
    if case.first_responded_at is None:
        clocks.stop_clock(case, Clock.RESPONSE, at)


# --- triage and assignment ---------------------------------------------------------------------
@transaction.atomic
def case_triage(
    *, actor: User, case_id: int, urgency: str, scope: str, difficulty: str, tier: int,
    note: str = "", expected_version: int | None = None, route: bool = True,
) -> Case:
    """Record the three grading dimensions and confirm the tier (received -> triaged).

    The agent who triages an unowned case (web, API, email) is its first receiver and so its
    first-contact owner. Clocks are re-timed when the confirmed tier differs from the
    suggested one. Confirming a tier is not a re-tier (it does not count against accuracy).
    Then automatic routing (``cases.services.routing``) assigns the case when a rule matches
    and an agent is available, as the system, or records on the case why it could not;
    ``route=False`` skips it (the caller assigns the case in the same transaction).
    """
    case = lock_case(case_id, expected_version)
    if case.owner_id is None:
        ensure_not_recused(case, [actor])
    if urgency not in Urgency.values or scope not in Scope.values or (
        difficulty not in Difficulty.values
    ):
        raise InvalidInput(_("Choose urgency, impact scope and difficulty."))
    if int(tier) not in (Tier.URGENT, Tier.IMPORTANT, Tier.ROUTINE):
        raise InvalidInput(_("Choose tier 1, 2 or 3."), field="tier")
    case.urgency, case.scope, case.difficulty = urgency, scope, difficulty
    case.suggested_tier = suggest_tier(urgency=urgency, scope=scope, difficulty=difficulty)
    run_case_transition(case, "confirm_tier", actor, int(tier), note=note)
    run_case_transition(case, "triage", actor, note=note)
    if case.owner_id is None:
        case.owner = actor
    clocks.retime_open_clocks(case)
    statutory.statutory_on_acceptance(case, actor=actor, at=timezone.now())
    _finish(case)
    if route:
        _route(case)
    return case


def _route(case: Case) -> None:
    """Assign a just-triaged case (locked) as its routing rule says, or note why not."""
    outcome = routing.route_pick(case)
    if outcome is None:
        return
    if outcome.agent is not None:
        _assign_locked(case, actor=None, handler=outcome.agent, department=outcome.department,
                       members=[outcome.agent] if case.tier == Tier.URGENT else [],
                       note=outcome.note)
        return
    case.routing_note = outcome.note[:200]
    log_change(case, field="routing", name="route", source="", target="", actor=None,
               note=outcome.note)
    save_case(case)


def _validate_team(tier: int, handler: User, task_force: list[User]) -> None:
    if not handler.is_active or not perms.is_agent(handler):
        raise InvalidInput(_("The handler must be an active agent."), field="handler")
    if tier != Tier.URGENT and not perms.may_handle_tier(handler, tier):
        raise InvalidInput(
            _("A tier %(tier)s case needs a handler of the right rank (tier 2: senior agent).")
            % {"tier": tier},
            field="handler",
        )
    if tier == Tier.URGENT and not task_force:
        raise InvalidInput(
            _("A tier 1 case needs a task force (agent, department and management)."),
            field="task_force",
        )


@transaction.atomic
def case_assign(
    *, actor: User, case_id: int, handler: User, department: Department | None = None,
    task_force: list[User] | None = None, note: str = "", expected_version: int | None = None,
) -> Case:
    """Give the case to a handler (triaged -> assigned). Tier 1 needs a task force; tier 2 a
    senior handler. Stops the assignment clock and starts the progress-sync clock."""
    case = lock_case(case_id, expected_version)
    return _assign_locked(case, actor=actor, handler=handler, department=department,
                          members=list(task_force or []), note=note)


def _assign_locked(case: Case, *, actor: User | None, handler: User,
                   department: Department | None, members: list[User], note: str) -> Case:
    """``case_assign``'s work on a locked case (also automatic routing's, ``actor=None``)."""
    _validate_team(case.tier, handler, members)
    ensure_not_recused(case, [handler, *members], field="handler")
    if case.tier == Tier.URGENT and department is None:
        raise InvalidInput(_("A tier 1 case needs the business department."), field="department")
    case.handler = handler
    case.routing_note = ""
    if department is not None:
        case.department = department
    run_case_transition(case, "assign", actor, note=note)
    now = timezone.now()
    clocks.stop_clock(case, Clock.ASSIGN, now)
    clocks.start_clock(case, Clock.PROGRESS, now, clocks.policy_for(case.tier))
    _finish(case)
    if members:
        case.task_force.set({*members, handler})
    return case


@transaction.atomic
def case_start(
    *, actor: User, case_id: int, contact_summary: str = "", expected_version: int | None = None
) -> Case:
    """The handler takes the case up (assigned -> in progress). If nobody has contacted the
    customer yet, the contact summary is required and counts as the first response."""
    case = lock_case(case_id, expected_version)
    summary = (contact_summary or "").strip()
    if case.first_responded_at is None and not summary:
        raise InvalidInput(
            _("Contact the customer and summarise the call: it is the first response."),
            field="contact_summary",
        )
    run_case_transition(case, "start", actor, note=summary)
    now = timezone.now()
    if summary:
        CaseNote.objects.create(case=case, kind=NoteKind.CONTACT, author=actor, body=summary,
                                created_at=now)
        record_first_response(case, actor, now)
        customer_answered(case)
    return _finish(case)


@transaction.atomic
def case_record_contact(
    *, actor: User, case_id: int, summary: str, visible_to_customer: bool = False
) -> Case:
    """A human contact with the customer (call, message). The first one is the first response."""
    case = lock_case(case_id)
    if not perms.can_work(case, actor):
        raise ActionForbidden(_("You may not record contacts on this case."))
    if case.stage in (Stage.CLOSED, Stage.INVALID):
        raise ActionNotAllowed(_("The case is closed; reopen it first."))
    body = _require(summary, "summary", _("Summarise the contact."))
    now = timezone.now()
    CaseNote.objects.create(case=case, kind=NoteKind.CONTACT, author=actor, body=body,
                            visible_to_customer=visible_to_customer, created_at=now)
    record_first_response(case, actor, now)
    customer_answered(case)
    return _finish(case)


@atomic_with_files()
def case_add_note(
    *, actor: User, case_id: int, body: str, kind: str = NoteKind.INTERNAL,
    visible_to_customer: bool = False, files: Sequence[UploadedFile | CheckedFile] = (),
) -> CaseNote:
    """An internal note, or a progress update (which restarts the progress-sync clock while
    the case is being handled). Internal notes are never visible to the customer. ``files``
    are kept on the note for the desk (checked as at intake: InvalidInput, nothing written,
    when one is refused). The people it mentions who may see the case are alerted; the
    returned note's ``mention_outcome`` says who was and who was not."""
    case = lock_case(case_id)
    if not perms.can_add_note(case, actor):
        raise ActionForbidden(_("You may not add notes to this case."))
    if kind not in (NoteKind.INTERNAL, NoteKind.PROGRESS):
        raise InvalidInput(_("Unknown kind of note."), field="kind")
    text = _require(body, "body", _("Write the note."))
    now = timezone.now()
    note = CaseNote.objects.create(
        case=case, kind=kind, author=actor, body=text, created_at=now,
        visible_to_customer=visible_to_customer and kind == NoteKind.PROGRESS,
    )
    attach_files(case=case, files=files, actor=actor, note=note)
    note.mention_outcome = mentions_alert_note(author=actor, note=note)
    if note.visible_to_customer:
        customer_answered(case)
    if kind == NoteKind.PROGRESS:
        case.last_progress_at = now
        if case.stage in HANDLING_STAGES and case.assigned_at is not None:
            clocks.start_clock(case, Clock.PROGRESS, now, clocks.policy_for(case.tier))
    _finish(case)
    return note


@transaction.atomic
def case_retier(
    *, actor: User, case_id: int, tier: int, reason: str, expected_version: int | None = None
) -> Case:
    """A supervisor changes a confirmed tier; the reason is required and recorded. Running
    clocks are re-timed with the new tier's allowances; the case counts as re-tiered."""
    case = lock_case(case_id, expected_version)
    text = _require(reason, "reason", _("Give the reason for changing the tier."))
    if int(tier) == case.tier:
        raise InvalidInput(_("The case already has this tier."), field="tier")
    run_case_transition(case, "retier", actor, int(tier), note=text)
    clocks.retime_open_clocks(case)
    return _finish(case)


@transaction.atomic
def case_transfer_ownership(*, actor: User, case_id: int, new_owner: User, reason: str) -> Case:
    """First-contact ownership moves only by a supervisor, with a reason, and is logged."""
    case = lock_case(case_id)
    if not perms.can_transfer_ownership(case, actor):
        raise ActionForbidden(_("Only a supervisor may transfer ownership."))
    text = _require(reason, "reason", _("Give the reason for the transfer."))
    if not perms.is_agent(new_owner):
        raise InvalidInput(_("The new owner must be an active agent."), field="new_owner")
    if new_owner.pk == case.owner_id:
        raise InvalidInput(_("This agent already owns the case."), field="new_owner")
    ensure_not_recused(case, [new_owner], field="new_owner")
    log_change(case, field="owner", name="transfer_ownership", source=case.owner,
               target=new_owner, actor=actor, note=text)
    case.owner = new_owner
    return _finish(case)


# --- handling ----------------------------------------------------------------------------------
@transaction.atomic
def case_wait_for_department(*, actor: User | None, case_id: int, note: str = "") -> Case:
    case = lock_case(case_id)
    run_case_transition(case, "wait_for_department", actor, note=note)
    return _finish(case)


@transaction.atomic
def case_resume(*, actor: User | None, case_id: int, note: str = "") -> Case:
    case = lock_case(case_id)
    run_case_transition(case, "resume", actor, note=note)
    return _finish(case)


@transaction.atomic
def case_resolve(
    *, actor: User, case_id: int, solution: str, root_cause: RootCause | None,
    compensation: CompensationOffer | None = None, expected_version: int | None = None,
) -> Case:
    """Record the solution and root cause (in progress -> resolved). Stops the solution and
    progress clocks and starts the 24-hour feedback clock.

    With ``compensation``, the compensation offered with the solution is proposed too (as
    ``compensation_propose`` does): both or neither. Its InvalidInput names the field
    ``compensation_<field>``."""
    case = lock_case(case_id, expected_version)
    case.solution = _require(solution, "solution", _("Describe the solution."))
    if root_cause is None:
        raise InvalidInput(_("Choose the root cause."), field="root_cause")
    case.root_cause = root_cause
    run_case_transition(case, "resolve", actor)
    now = timezone.now()
    clocks.stop_clock(case, Clock.SOLUTION, now)
    clocks.stop_clock(case, Clock.PROGRESS, now)
    statutory.statutory_on_decision(case, at=now)
    clocks.start_clock(case, Clock.FEEDBACK, now, clocks.policy_for(case.tier))
    if compensation is not None:
        try:
            compensation_record(case, actor, compensation)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"compensation_{exc.field}") from exc
    return _finish(case)


def compensation_summary(case: Case) -> str:
    """The approved compensation as one line in the active language ("none" when none)."""
    approved = case.compensations.filter(status=CompensationStatus.APPROVED)
    return "; ".join(
        f"{c.get_kind_display()} {c.amount}" + (f" ({c.description})" if c.description else "")
        for c in approved
    ) or _("none")


@transaction.atomic
def case_give_feedback(
    *, actor: User, case_id: int, message: str, preventive_measures: str,
    expected_version: int | None = None,
) -> Case:
    """Tell the customer the result, the approved compensation and the preventive measures
    (resolved -> feedback given). Refused while a compensation awaits approval, and where the
    desk requires the final-response letter (``cases.services.letters.letter_send``). Queues
    the feedback notice on the customer's preferred channel and sets the 48-hour revisit
    due."""
    case = lock_case(case_id, expected_version)
    if desk_config().settings.letter_mode == LetterMode.REQUIRED:
        raise ActionNotAllowed(_("This desk answers every complaint with a final-response "
                                 "letter: send the letter instead."))
    revisit_round = record_feedback(case, actor, message=message,
                                    preventive_measures=preventive_measures)
    notice_queue(
        case=case, kind=NoticeKind.FEEDBACK, key=f"round{revisit_round}",
        context={"message": case.feedback_message, "measures": case.preventive_measures,
                 "compensation": compensation_summary(case)},
    )
    return _finish(case)


def record_feedback(case: Case, actor: User, *, message: str, preventive_measures: str) -> int:
    """The feedback step on ``case`` without its notice: checks, transition, clocks, the
    revisit row and the customer-visible contact note. Returns the revisit round.
    Precondition: the caller holds the case's lock, queues the notice and then saves the case
    with ``finish_case``. Raises as ``case_give_feedback``."""
    case.feedback_message = _require(message, "message", _("Write the message to the customer."))
    case.preventive_measures = _require(
        preventive_measures, "preventive_measures",
        _("Say what was changed so that it does not happen again."),
    )
    if case.compensations.filter(status=CompensationStatus.PROPOSED).exists():
        raise ActionNotAllowed(
            _("A compensation awaits a supervisor's approval; feedback can name it only "
              "once it is decided.")
        )
    run_case_transition(case, "give_feedback", actor)
    now = timezone.now()
    clocks.stop_clock(case, Clock.FEEDBACK, now)
    clocks.start_clock(case, Clock.REVISIT, now, clocks.policy_for(case.tier))
    revisit_round = case.revisits.count() + 1
    Revisit.objects.create(case=case, round=revisit_round, due_at=case.revisit_due_at)
    CaseNote.objects.create(case=case, kind=NoteKind.CONTACT, author=actor,
                            body=case.feedback_message, visible_to_customer=True, created_at=now)
    customer_answered(case)
    return revisit_round


def finish_case(case: Case) -> Case:
    """Save ``case`` (locked by the caller) as every action does: a pause ended with the
    case, the SLA summary refreshed, the version bumped."""
    return _finish(case)


@transaction.atomic
def case_record_revisit(
    *, actor: User | None, case_id: int, score: int, comment: str = "",
    method: str = RevisitMethod.PHONE,
) -> Case:
    """Record the satisfaction revisit (phone call by an agent, or the survey with
    ``actor=None``). The first answer counts; a second is refused. Satisfied (4-5) closes the
    case; dissatisfied opens the second follow-up, due within 48 hours."""
    case = lock_case(case_id)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(_("The score is a whole number from 1 to 5."), field="score")
    revisit = case.revisits.order_by("-round").first()
    if revisit is None or revisit.answered_at is not None or case.stage not in (
        Stage.FEEDBACK_GIVEN, Stage.REVISIT,
    ):
        raise ActionNotAllowed(_("This revisit has already been answered. Thank you."))
    satisfied = score >= 4
    run_case_transition(case, "record_revisit", actor, satisfied,
                        note=_("Score %(score)s") % {"score": score})
    now = timezone.now()
    revisit.answered_at, revisit.method, revisit.score = now, method, score
    revisit.comment, revisit.answered_by = (comment or "").strip(), actor
    revisit.save()
    case.satisfaction_score, case.satisfied = score, satisfied
    clocks.stop_clock(case, Clock.REVISIT, now)
    if satisfied:
        case.closed_at = now
        clocks.stop_all_clocks(case, now)
    else:
        clocks.start_clock(case, Clock.FOLLOW_UP, now, clocks.policy_for(case.tier))
    return _finish(case)


@transaction.atomic
def case_complete_follow_up(
    *, actor: User, case_id: int, message: str, expected_version: int | None = None
) -> Case:
    """After a dissatisfied revisit: the extra compensation or adjusted plan was delivered
    (follow-up -> closed). The customer is told."""
    case = lock_case(case_id, expected_version)
    text = _require(message, "message", _("Describe the extra compensation or adjusted plan."))
    if case.compensations.filter(status=CompensationStatus.PROPOSED).exists():
        raise ActionNotAllowed(_("A compensation awaits a supervisor's approval."))
    run_case_transition(case, "complete_follow_up", actor, note=text)
    now = timezone.now()
    clocks.stop_clock(case, Clock.FOLLOW_UP, now)
    case.closed_at = now
    clocks.stop_all_clocks(case, now)
    CaseNote.objects.create(case=case, kind=NoteKind.CONTACT, author=actor, body=text,
                            visible_to_customer=True, created_at=now)
    customer_answered(case)
    notice_queue(case=case, kind=NoticeKind.FOLLOW_UP, key=f"followup{case.revisits.count()}",
                 context={"message": text})
    return _finish(case)


@transaction.atomic
def case_reopen(*, actor: User, case_id: int, reason: str) -> Case:
    """A closed case is handled again (closed -> in progress): new solution and progress
    clocks from now. Earlier rounds stay in the timeline and revisit history."""
    case = lock_case(case_id)
    if case.anonymised_at is not None:
        raise ActionNotAllowed(_("This case was anonymised: its personal data is gone, so it "
                                 "cannot be handled again. Log a new case."))
    text = _require(reason, "reason", _("Give the reason for reopening."))
    run_case_transition(case, "reopen", actor, note=text)
    now = timezone.now()
    case.closed_at = None
    case.resolved_at = case.feedback_given_at = None
    case.revisit_done_at = case.follow_up_done_at = None
    case.satisfied = case.satisfaction_score = None
    policy = clocks.policy_for(case.tier)
    clocks.start_clock(case, Clock.SOLUTION, now, policy)
    clocks.start_clock(case, Clock.PROGRESS, now, policy)
    return _finish(case)


@transaction.atomic
def case_invalidate(*, actor: User, case_id: int, reason: str,
                    expected_version: int | None = None) -> Case:
    """Close an invalid or withdrawn case; it is excluded from every KPI. With
    ``expected_version`` (the desk form's), a case changed meanwhile is a ConflictError."""
    case = lock_case(case_id, expected_version)
    case.closing_reason = _require(reason, "reason", _("Say why the case is invalid or withdrawn."))
    run_case_transition(case, "invalidate", actor, note=case.closing_reason)
    now = timezone.now()
    case.closed_at = now
    clocks.stop_all_clocks(case, now)
    return _finish(case)
