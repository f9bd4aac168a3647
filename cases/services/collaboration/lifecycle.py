"""A department request's transitions: create, answer, accept, dispute, decide, complete and
withdraw. Each runs in one transaction (see ``steps``), and tells the people concerned."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import Clock, Role
from cases.departments import lowest_common_parent, requesting_department_for
from cases.models import CaseDeadline, CollaborationRequest, Department, User
from cases.models.collaboration import WAITING_REQUEST_STATUSES
from cases.permissions import can_request_help
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.transitions import lock_case

from .alerts import (
    ALERT_ANSWERED,
    ALERT_CLOSED,
    ALERT_DECIDED,
    ALERT_ESCALATED,
    ALERT_NEW,
    notify,
)
from .case_sync import start_department_clock, stop_department_clock, sync_case
from .steps import REQUESTABLE_STAGES, board_text, lock_request, log_step, run_step, save_request


def _requesting_side(req: CollaborationRequest) -> list[User | None]:
    return [req.requested_by, req.case.handler, req.case.owner]


def _deciders(req: CollaborationRequest) -> list[User]:
    target = req.escalated_to
    if target is not None and target.manager_id is not None:
        return [target.manager]
    return list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True))


@transaction.atomic
def request_create(
    *, actor: User, case_id: int, department: Department, ask: str,
) -> CollaborationRequest:
    """Ask ``department`` (its liaison) for help with a concrete ``ask``.

    Preconditions: the actor is on the case team or a supervisor; the case is being handled
    (or in its second follow-up); the department is active, has a liaison, is not the
    requesting department and has no request on this case still waiting for a plan.
    Side effects: the department clock starts (due per the SLA policy), the case moves to
    ``waiting_department`` if it was in progress, the timeline records the request and the
    liaison gets an alert.
    """
    case = lock_case(case_id)
    if not can_request_help(case, actor):
        raise ActionForbidden(_("Only the case team or a supervisor may ask a department."))
    if case.stage not in REQUESTABLE_STAGES:
        raise ActionNotAllowed(_("Help can be requested only while the case is being handled."))
    text = board_text(ask, "ask", _("Say what you need from the department."))
    department = Department.objects.select_related("liaison").filter(pk=department.pk).first()
    if department is None or not department.is_active:
        raise InvalidInput(_("Choose an active department."), field="department")
    if department.liaison is None or not department.liaison.is_active:
        raise InvalidInput(
            _("%(dept)s has no liaison yet; ask an admin to name one.") % {"dept": department},
            field="department",
        )
    requesting = requesting_department_for(actor)
    if requesting is not None and requesting.pk == department.pk:
        raise InvalidInput(_("You cannot ask your own department."), field="department")
    if CollaborationRequest.objects.filter(
        case=case, department=department, status__in=WAITING_REQUEST_STATUSES
    ).exists():
        raise InvalidInput(
            _("A request to %(dept)s is already waiting on this case.") % {"dept": department},
            field="department",
        )
    now = timezone.now()
    window = start_department_clock(case, now, department)
    risk_at, due_at = window.risk_at, window.due_at
    req = CollaborationRequest.objects.create(
        case=case, department=department, requested_by=actor, requesting_department=requesting,
        ask=text, created_at=now, due_at=due_at,
    )
    req.case = case
    deadline = CaseDeadline.objects.create(
        case=case, clock=Clock.DEPARTMENT, request=req, started_at=now, risk_at=risk_at,
        due_at=due_at, basis=window.basis, calendar_id=window.calendar_id,
    )
    log_step(req, name="request_help", source="", actor=actor, text=text)
    notify([department.liaison], case=case, kind=ALERT_NEW, now=now, actor=actor,
           deadline=deadline,
           message=lambda: _("Case %(ref)s asks %(dept)s for help: %(ask)s")
           % {"ref": case.reference, "dept": department, "ask": text})
    sync_case(case)
    return req


@transaction.atomic
def request_answer(
    *, actor: User, request_id: int, plan: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The department proposes a plan (open -> answered). Stops the department clock; the
    requesting agent is told."""
    req = lock_request(request_id, expected_version)
    req.plan = board_text(plan, "plan", _("Describe the proposed plan."))
    source = run_step(req, "answer", actor)
    now = timezone.now()
    req.answered_at, req.answered_by = now, actor
    stop_department_clock(req, now)
    save_request(req)
    log_step(req, name="answer", source=source, actor=actor, text=req.plan)
    notify(_requesting_side(req), case=req.case, kind=ALERT_ANSWERED, now=now, actor=actor,
           message=lambda: _("%(dept)s proposed a plan for case %(ref)s.")
           % {"dept": req.department, "ref": req.case.reference})
    sync_case(req.case)
    return req


@transaction.atomic
def request_accept(
    *, actor: User, request_id: int, note: str = "", expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side accepts the plan (answered -> accepted); the case resumes if no
    other request is waiting."""
    req = lock_request(request_id, expected_version)
    text = board_text(note, "note", "", required=False)
    source = run_step(req, "accept", actor)
    req.accepted_at, req.accepted_by = timezone.now(), actor
    save_request(req)
    log_step(req, name="accept", source=source, actor=actor, text=text)
    notify([req.department.liaison], case=req.case, kind=ALERT_CLOSED, now=timezone.now(),
           actor=actor, message=lambda: _("Your plan for case %(ref)s was accepted.")
           % {"ref": req.case.reference})
    sync_case(req.case)
    return req


@transaction.atomic
def request_dispute(
    *, actor: User, request_id: int, reason: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side disputes the plan (answered -> escalated). The dispute goes to the
    manager of the lowest common parent of the requesting department and the department asked;
    with no common parent (or no manager there) the supervisors decide."""
    req = lock_request(request_id, expected_version)
    req.dispute_reason = board_text(reason, "reason", _("Say why the plan does not work."))
    source = run_step(req, "dispute", actor)
    now = timezone.now()
    req.escalated_to = lowest_common_parent(req.requesting_department, req.department)
    req.escalated_at, req.disputed_by = now, actor
    save_request(req)
    deciders = _deciders(req)
    if req.escalated_to is not None and req.escalated_to.manager_id is not None:
        to = _("%(dept)s (manager %(who)s)") % {
            "dept": req.escalated_to, "who": req.escalated_to.manager}
    else:
        to = _("the supervisors")
    log_step(req, name="dispute", source=source, actor=actor,
             text=_("%(reason)s — escalated to %(to)s")
             % {"reason": req.dispute_reason, "to": to})
    notify([*deciders, req.department.liaison], case=req.case, kind=ALERT_ESCALATED, now=now,
           actor=actor, message=lambda: _("The plan of %(dept)s for case %(ref)s is disputed "
                                          "and awaits a decision.")
           % {"dept": req.department, "ref": req.case.reference})
    sync_case(req.case)
    return req


@transaction.atomic
def request_decide(
    *, actor: User, request_id: int, decision: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The deciding manager settles the dispute (escalated -> decided); both sides are told and
    the case resumes if no other request is waiting."""
    req = lock_request(request_id, expected_version)
    req.decision = board_text(decision, "decision", _("Write the decision."))
    source = run_step(req, "decide", actor)
    now = timezone.now()
    req.decided_by, req.decided_at = actor, now
    save_request(req)
    log_step(req, name="decide", source=source, actor=actor, text=req.decision)
    notify([req.department.liaison, *_requesting_side(req)], case=req.case, kind=ALERT_DECIDED,
           now=now, actor=actor, message=lambda: _("The dispute over case %(ref)s with "
                                                   "%(dept)s was decided.")
           % {"ref": req.case.reference, "dept": req.department})
    sync_case(req.case)
    return req


@transaction.atomic
def request_complete(
    *, actor: User, request_id: int, note: str = "", expected_version: int | None = None
) -> CollaborationRequest:
    """The agreed plan was carried out (accepted/decided -> done). Open to-dos must be ticked
    off first, so that "done" on the board means done."""
    req = lock_request(request_id, expected_version)
    text = board_text(note, "note", "", required=False)
    if req.todos.filter(done_at__isnull=True).exists():
        raise ActionNotAllowed(_("Tick off or remove the open to-dos first."))
    source = run_step(req, "complete", actor)
    now = timezone.now()
    req.closed_at, req.closed_by, req.closing_note = now, actor, text
    save_request(req)
    log_step(req, name="complete", source=source, actor=actor, text=text)
    notify([req.department.liaison, *_requesting_side(req)], case=req.case, kind=ALERT_CLOSED,
           now=now, actor=actor, message=lambda: _("The request to %(dept)s on case %(ref)s "
                                                   "is done.")
           % {"dept": req.department, "ref": req.case.reference})
    sync_case(req.case)
    return req


@transaction.atomic
def request_withdraw(
    *, actor: User, request_id: int, reason: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side no longer needs the department (open/answered -> withdrawn). Stops
    the department clock; the liaison is told; the case resumes if nothing else waits."""
    req = lock_request(request_id, expected_version)
    text = board_text(reason, "reason", _("Say why the request is withdrawn."))
    source = run_step(req, "withdraw", actor)
    now = timezone.now()
    req.closed_at, req.closed_by, req.closing_note = now, actor, text
    stop_department_clock(req, now)
    save_request(req)
    log_step(req, name="withdraw", source=source, actor=actor, text=text)
    notify([req.department.liaison], case=req.case, kind=ALERT_CLOSED, now=now, actor=actor,
           message=lambda: _("The request on case %(ref)s was withdrawn.")
           % {"ref": req.case.reference})
    sync_case(req.case)
    return req
