"""Cross-department collaboration: an agent asks a department (its liaison) for help on a case.

Each action runs in one transaction, locks the case and then the request (always in that
order, so two actions on one case cannot deadlock), checks the actor through the request's
django-fsm transition, records the step on the case timeline and tells the people concerned.

Timeline: every step is a ``CaseTransition`` row with ``field="request"``, ``name`` the
request's transition (``request_help`` for the creation, ``request_note`` for progress notes,
``request_overdue`` for the sweep), ``source``/``target`` the request statuses and ``note``
"<department>: <text>". Internal case notes are not used: liaisons never see those.

The case waits (stage ``waiting_department``) while any of its requests waits for an agreed
plan (open, answered or escalated); it resumes when the last one is accepted, decided or
withdrawn. These stage moves are system moves (``actor=None``): the request row next to them
names the person.

The department's answer is due by the SLA policy's ``department_minutes`` (24 h by default),
as a ``CaseDeadline`` row with ``clock=department`` and ``request=...``; it stops when the
department proposes a plan (or the request is withdrawn). ``request_overdue_sweep`` marks
overdue rows breached, alerts the liaison and the requesting agent once, and refreshes the
case's deadline state, which puts the case in the supervision queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import HANDLING_STAGES, MAX_FREE_TEXT, Clock, Role, SlaState, Stage
from cases.departments import lowest_common_parent, requesting_department_for
from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CollaborationNote,
    CollaborationRequest,
    CollaborationTodo,
    Department,
    User,
)
from cases.models.collaboration import (
    WAITING_REQUEST_STATUSES,
    RequestStatus,
    can_decide_escalation,
)
from cases.permissions import can_request_help
from cases.services import clocks
from cases.services.errors import ActionForbidden, ActionNotAllowed, ConflictError, InvalidInput
from cases.services.intake import clean_text
from cases.services.transitions import (
    check_transition,
    lock_case,
    log_change,
    run_case_transition,
    save_case,
)

TIMELINE_FIELD = "request"
# Alert kinds (an alert tied to a deadline is unique per recipient, deadline and kind).
ALERT_NEW = "request_new"
ALERT_ANSWERED = "request_answered"
ALERT_ESCALATED = "request_escalated"
ALERT_DECIDED = "request_decided"
ALERT_CLOSED = "request_closed"
ALERT_OVERDUE = "request_overdue"

# Stages in which a case may ask for help: while it is handled, and in the second follow-up.
REQUESTABLE_STAGES = (*HANDLING_STAGES, Stage.FOLLOW_UP)


# --- helpers ------------------------------------------------------------------------------------
def can_collaborate(request: CollaborationRequest, user: User | None) -> bool:
    """Everyone with a part in the request may add to-dos and progress notes: the department's
    liaison, the requesting side (requester, case team, supervisors) and the deciding manager."""
    return (
        perms.can_answer_request(request, user)
        or perms.can_review_request(request, user)
        or (request.escalated_to_id is not None and can_decide_escalation(request, user))
    )


def _text(value: str | None, field: str, message: str, *, required: bool = True) -> str:
    """A board text as it may be stored: without NUL or lone surrogates (callers pass what
    people typed, and PostgreSQL refuses a NUL: a 500), stripped, checked."""
    text = clean_text(value).strip()
    if required and not text:
        raise InvalidInput(message, field=field)
    if len(text) > MAX_FREE_TEXT:
        raise InvalidInput(
            _("Keep it under %(n)s characters.") % {"n": MAX_FREE_TEXT}, field=field
        )
    return text


def _lock_request(
    request_id: int, expected_version: int | None = None
) -> CollaborationRequest:
    """Lock the case, then the request. ``expected_version`` is the request version the actor
    saw (the board card): a stale card is refused instead of acting on a changed request."""
    case_id = (
        CollaborationRequest.objects.filter(pk=request_id).values_list("case_id", flat=True)
        .first()
    )
    if case_id is None:
        raise ActionNotAllowed(_("This request does not exist."))
    case = lock_case(case_id)
    req = (
        CollaborationRequest.objects.select_for_update(of=("self",))
        .select_related("department", "requesting_department", "escalated_to", "requested_by")
        .get(pk=request_id)
    )
    req.case = case
    if expected_version is not None and req.version != expected_version:
        raise ConflictError(
            _("Someone else changed this request a moment ago. Reload it and try again.")
        )
    return req


def _log(
    req: CollaborationRequest, *, name: str, source: str, actor: User | None, text: str = ""
) -> None:
    label = str(req.department)
    log_change(
        req.case, field=TIMELINE_FIELD, name=name, source=source, target=req.status,
        actor=actor, note=f"{label}: {text}" if text else label,
    )


def _run(req: CollaborationRequest, name: str, actor: User) -> str:
    """Run one request transition (permission and conditions checked); return the source."""
    method = check_transition(req, name, actor)
    source = str(req.status)
    method()
    return source


def _save(req: CollaborationRequest) -> None:
    req.version += 1
    req.save()


def _alert(
    recipients: Iterable[User | None], *, case: Case, kind: str, message: Callable[[], str],
    now: datetime, actor: User | None = None, deadline: CaseDeadline | None = None,
) -> int:
    """One in-app alert per person, written in that person's language. The actor is not told
    about their own action. With a ``deadline`` an alert is created at most once."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        if actor is not None and user.pk == actor.pk:
            continue
        seen.add(user.pk)
        if deadline is not None and Alert.objects.filter(
            recipient=user, deadline=deadline, kind=kind
        ).exists():
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            text = str(message())[:300]
        rows.append(Alert(recipient=user, case=case, deadline=deadline, kind=kind, message=text,
                          created_at=now))
    # ignore_conflicts: two sweeps racing on PostgreSQL still write each alert once.
    Alert.objects.bulk_create(rows, ignore_conflicts=deadline is not None)
    return len(rows)


def _requesting_side(req: CollaborationRequest) -> list[User | None]:
    return [req.requested_by, req.case.handler, req.case.owner]


def _deciders(req: CollaborationRequest) -> list[User]:
    target = req.escalated_to
    if target is not None and target.manager_id is not None:
        return [target.manager]
    return list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True))


def _start_department_clock(case: Case, now: datetime) -> tuple[datetime, datetime]:
    """The department's answer is due by the SLA policy of the case's tier."""
    policy = clocks.policy_for(clocks.effective_tier(case))
    allowed = timedelta(minutes=policy.department_minutes)
    return now + allowed * float(policy.at_risk_ratio), now + allowed


def _stop_department_clock(req: CollaborationRequest, at: datetime) -> None:
    """Stop the request's clock. An answer after the due time counts as a breach even when no
    sweep ran in between (the KPI 'department response within 24 h' reads these rows)."""
    for row in CaseDeadline.objects.filter(request=req, stopped_at__isnull=True):
        row.stopped_at = at
        fields = ["stopped_at"]
        if at > row.due_at and row.state != SlaState.BREACHED:
            row.state, row.breached_at = SlaState.BREACHED, row.due_at
            fields += ["state", "breached_at"]
            req.case.ever_breached = True
        row.save(update_fields=fields)


def _sync_case(case: Case) -> None:
    """Move the case into or out of ``waiting_department`` after a request changed, then
    refresh its deadline state and save it."""
    waiting = list(
        CollaborationRequest.objects.filter(case=case, status__in=WAITING_REQUEST_STATUSES)
        .select_related("department").order_by("created_at")
    )
    names = ", ".join(dict.fromkeys(str(r.department) for r in waiting))
    if waiting and case.stage == Stage.IN_PROGRESS:
        _run_case(case, "wait_for_department", _("Waiting on %(dept)s") % {"dept": names})
    elif not waiting and case.stage == Stage.WAITING_DEPARTMENT:
        _run_case(case, "resume", _("No department request is waiting any more."))
    clocks.refresh_case_sla(case)
    save_case(case)


def _run_case(case: Case, name: str, note: str) -> None:
    run_case_transition(case, name, None, note=note)


# --- the lifecycle ------------------------------------------------------------------------------
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
    text = _text(ask, "ask", _("Say what you need from the department."))
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
    risk_at, due_at = _start_department_clock(case, now)
    req = CollaborationRequest.objects.create(
        case=case, department=department, requested_by=actor, requesting_department=requesting,
        ask=text, created_at=now, due_at=due_at,
    )
    req.case = case
    deadline = CaseDeadline.objects.create(
        case=case, clock=Clock.DEPARTMENT, request=req, started_at=now, risk_at=risk_at,
        due_at=due_at,
    )
    _log(req, name="request_help", source="", actor=actor, text=text)
    _alert([department.liaison], case=case, kind=ALERT_NEW, now=now, actor=actor,
           deadline=deadline,
           message=lambda: _("Case %(ref)s asks %(dept)s for help: %(ask)s")
           % {"ref": case.reference, "dept": department, "ask": text[:150]})
    _sync_case(case)
    return req


@transaction.atomic
def request_answer(
    *, actor: User, request_id: int, plan: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The department proposes a plan (open -> answered). Stops the department clock; the
    requesting agent is told."""
    req = _lock_request(request_id, expected_version)
    req.plan = _text(plan, "plan", _("Describe the proposed plan."))
    source = _run(req, "answer", actor)
    now = timezone.now()
    req.answered_at, req.answered_by = now, actor
    _stop_department_clock(req, now)
    _save(req)
    _log(req, name="answer", source=source, actor=actor, text=req.plan)
    _alert(_requesting_side(req), case=req.case, kind=ALERT_ANSWERED, now=now, actor=actor,
           message=lambda: _("%(dept)s proposed a plan for case %(ref)s.")
           % {"dept": req.department, "ref": req.case.reference})
    _sync_case(req.case)
    return req


@transaction.atomic
def request_accept(
    *, actor: User, request_id: int, note: str = "", expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side accepts the plan (answered -> accepted); the case resumes if no
    other request is waiting."""
    req = _lock_request(request_id, expected_version)
    text = _text(note, "note", "", required=False)
    source = _run(req, "accept", actor)
    req.accepted_at, req.accepted_by = timezone.now(), actor
    _save(req)
    _log(req, name="accept", source=source, actor=actor, text=text)
    _alert([req.department.liaison], case=req.case, kind=ALERT_CLOSED, now=timezone.now(),
           actor=actor, message=lambda: _("Your plan for case %(ref)s was accepted.")
           % {"ref": req.case.reference})
    _sync_case(req.case)
    return req


@transaction.atomic
def request_dispute(
    *, actor: User, request_id: int, reason: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side disputes the plan (answered -> escalated). The dispute goes to the
    manager of the lowest common parent of the requesting department and the department asked;
    with no common parent (or no manager there) the supervisors decide."""
    req = _lock_request(request_id, expected_version)
    req.dispute_reason = _text(reason, "reason", _("Say why the plan does not work."))
    source = _run(req, "dispute", actor)
    now = timezone.now()
    req.escalated_to = lowest_common_parent(req.requesting_department, req.department)
    req.escalated_at, req.disputed_by = now, actor
    _save(req)
    deciders = _deciders(req)
    if req.escalated_to is not None and req.escalated_to.manager_id is not None:
        to = _("%(dept)s (manager %(who)s)") % {
            "dept": req.escalated_to, "who": req.escalated_to.manager}
    else:
        to = _("the supervisors")
    _log(req, name="dispute", source=source, actor=actor,
         text=_("%(reason)s — escalated to %(to)s") % {"reason": req.dispute_reason, "to": to})
    _alert([*deciders, req.department.liaison], case=req.case, kind=ALERT_ESCALATED, now=now,
           actor=actor, message=lambda: _("The plan of %(dept)s for case %(ref)s is disputed "
                                          "and awaits a decision.")
           % {"dept": req.department, "ref": req.case.reference})
    _sync_case(req.case)
    return req


@transaction.atomic
def request_decide(
    *, actor: User, request_id: int, decision: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The deciding manager settles the dispute (escalated -> decided); both sides are told and
    the case resumes if no other request is waiting."""
    req = _lock_request(request_id, expected_version)
    req.decision = _text(decision, "decision", _("Write the decision."))
    source = _run(req, "decide", actor)
    now = timezone.now()
    req.decided_by, req.decided_at = actor, now
    _save(req)
    _log(req, name="decide", source=source, actor=actor, text=req.decision)
    _alert([req.department.liaison, *_requesting_side(req)], case=req.case, kind=ALERT_DECIDED,
           now=now, actor=actor, message=lambda: _("The dispute over case %(ref)s with "
                                                   "%(dept)s was decided.")
           % {"ref": req.case.reference, "dept": req.department})
    _sync_case(req.case)
    return req


@transaction.atomic
def request_complete(
    *, actor: User, request_id: int, note: str = "", expected_version: int | None = None
) -> CollaborationRequest:
    """The agreed plan was carried out (accepted/decided -> done). Open to-dos must be ticked
    off first, so that "done" on the board means done."""
    req = _lock_request(request_id, expected_version)
    text = _text(note, "note", "", required=False)
    if req.todos.filter(done_at__isnull=True).exists():
        raise ActionNotAllowed(_("Tick off or remove the open to-dos first."))
    source = _run(req, "complete", actor)
    now = timezone.now()
    req.closed_at, req.closed_by, req.closing_note = now, actor, text
    _save(req)
    _log(req, name="complete", source=source, actor=actor, text=text)
    _alert([req.department.liaison, *_requesting_side(req)], case=req.case, kind=ALERT_CLOSED,
           now=now, actor=actor, message=lambda: _("The request to %(dept)s on case %(ref)s "
                                                   "is done.")
           % {"dept": req.department, "ref": req.case.reference})
    _sync_case(req.case)
    return req


@transaction.atomic
def request_withdraw(
    *, actor: User, request_id: int, reason: str, expected_version: int | None = None
) -> CollaborationRequest:
    """The requesting side no longer needs the department (open/answered -> withdrawn). Stops
    the department clock; the liaison is told; the case resumes if nothing else waits."""
    req = _lock_request(request_id, expected_version)
    text = _text(reason, "reason", _("Say why the request is withdrawn."))
    source = _run(req, "withdraw", actor)
    now = timezone.now()
    req.closed_at, req.closed_by, req.closing_note = now, actor, text
    _stop_department_clock(req, now)
    _save(req)
    _log(req, name="withdraw", source=source, actor=actor, text=text)
    _alert([req.department.liaison], case=req.case, kind=ALERT_CLOSED, now=now, actor=actor,
           message=lambda: _("The request on case %(ref)s was withdrawn.")
           % {"ref": req.case.reference})
    _sync_case(req.case)
    return req


# --- to-dos and progress notes -----------------------------------------------------------------
_CLOSED = (RequestStatus.DONE, RequestStatus.WITHDRAWN)


def todo_assignees(req: CollaborationRequest) -> list[User]:
    """Who a to-do can be given to: the department's people (members and liaison) and the
    requesting side (requester, owner, handler)."""
    ids = {req.department.liaison_id, req.requested_by_id, req.case.owner_id, req.case.handler_id}
    users = User.objects.filter(is_active=True).filter(
        pk__in=[i for i in ids if i is not None]
    ) | User.objects.filter(is_active=True, department=req.department_id)
    return list(users.distinct().order_by("display_name", "username"))


def _check_workable(req: CollaborationRequest, actor: User) -> None:
    if not can_collaborate(req, actor):
        raise ActionForbidden(_("You may not work on this request."))
    if req.status in _CLOSED:
        raise ActionNotAllowed(_("This request is closed."))


@transaction.atomic
def todo_add(
    *, actor: User, request_id: int, title: str, assignee: User | None = None,
    due_at: datetime | None = None,
) -> CollaborationTodo:
    """Add a checklist item (with an optional assignee and due time) to an open request."""
    req = _lock_request(request_id)
    _check_workable(req, actor)
    text = _text(title, "title", _("Say what needs doing."))
    if len(text) > 200:
        raise InvalidInput(_("Keep the to-do under 200 characters."), field="title")
    now = timezone.now()
    if assignee is not None and assignee.pk not in {u.pk for u in todo_assignees(req)}:
        raise InvalidInput(
            _("Give the to-do to someone of the department or the requesting side."),
            field="assignee",
        )
    if due_at is not None and due_at <= now:
        raise InvalidInput(_("The due time is in the past."), field="due_at")
    todo = CollaborationTodo.objects.create(
        request=req, title=text, assignee=assignee, due_at=due_at, created_by=actor,
        created_at=now,
    )
    _save(req)
    return todo


@transaction.atomic
def todo_toggle(*, actor: User, todo_id: int) -> CollaborationTodo:
    """Tick a to-do off, or reopen it."""
    request_id = (
        CollaborationTodo.objects.filter(pk=todo_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise ActionNotAllowed(_("This to-do does not exist."))
    req = _lock_request(request_id)
    _check_workable(req, actor)
    todo = CollaborationTodo.objects.select_for_update().get(pk=todo_id)
    if todo.done_at is None:
        todo.done_at, todo.done_by = timezone.now(), actor
    else:
        todo.done_at, todo.done_by = None, None
    todo.save(update_fields=["done_at", "done_by"])
    _save(req)
    return todo


@transaction.atomic
def request_add_note(*, actor: User, request_id: int, body: str) -> CollaborationNote:
    """A progress note on the request; it also appears on the case timeline."""
    req = _lock_request(request_id)
    _check_workable(req, actor)
    text = _text(body, "body", _("Write the progress note."))
    note = CollaborationNote.objects.create(request=req, author=actor, body=text,
                                            created_at=timezone.now())
    _save(req)
    _log(req, name="request_note", source=req.status, actor=actor, text=text)
    return note


# --- supervision --------------------------------------------------------------------------------
def request_overdue_sweep(now: datetime | None = None) -> int:
    """Mark department clocks that ran past their due time breached, alert the liaison and the
    requesting agent (once per request: the alert rows are unique per person, deadline and
    kind), note it on the timeline and refresh the case's deadline state so that the case
    shows in the supervision queue. Safe to run again and concurrently; returns how many
    requests became overdue in this run."""
    now = now or timezone.now()
    already = Alert.objects.filter(deadline=OuterRef("pk"), kind=ALERT_OVERDUE)
    due = list(
        CaseDeadline.objects.filter(
            clock=Clock.DEPARTMENT, request__isnull=False, stopped_at__isnull=True,
            due_at__lte=now,
        ).exclude(Exists(already)).values_list("pk", flat=True)[:500]
    )
    count = 0
    for deadline_id in due:
        if _mark_overdue(deadline_id, now):
            count += 1
    return count


@transaction.atomic
def _mark_overdue(deadline_id: int, now: datetime) -> bool:
    request_id = (
        CaseDeadline.objects.filter(pk=deadline_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        return False
    req = _lock_request(request_id)
    row = CaseDeadline.objects.select_for_update().filter(
        pk=deadline_id, stopped_at__isnull=True).first()
    if row is None or Alert.objects.filter(deadline=row, kind=ALERT_OVERDUE).exists():
        return False  # answered or handled by a concurrent sweep meanwhile
    if row.state != SlaState.BREACHED:
        row.state, row.breached_at = SlaState.BREACHED, row.due_at
        row.save(update_fields=["state", "breached_at"])
    req.case.ever_breached = True
    _log(req, name="request_overdue", source=req.status, actor=None,
         text=_("no plan proposed by the due time"))
    recipients: list[User | None] = [req.department.liaison, req.requested_by]
    if not any(u is not None and u.is_active for u in recipients):
        recipients = list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True))
    _alert(recipients, case=req.case, kind=ALERT_OVERDUE, now=now, deadline=row,
           message=lambda: _("Overdue: %(dept)s has not answered the request on case %(ref)s.")
           % {"dept": req.department, "ref": req.case.reference})
    clocks.refresh_case_sla(req.case, now)
    save_case(req.case)
    return True
