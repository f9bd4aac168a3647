"""Reads for one department request's page, a case's requests in its workspace, and the
form that asks a department for help. Scoped by ``board.requests_visible_to``: a request
outside the user's scope is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import Clock
from cases.masking import contact_for, text_for
from cases.models import (
    Case,
    CaseAttachment,
    CaseDeadline,
    CollaborationNote,
    CollaborationRequest,
    CollaborationTodo,
    Department,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.selectors.presence import present
from cases.services.collaboration import (
    REQUESTABLE_STAGES,
    can_collaborate,
    todo_assignees,
)

from .board import Action, available_actions, is_department_only, requests_visible_to


@dataclass(frozen=True)
class CaseBrief:
    """What the people on a request may see of its case. Contact data, and the personal data
    typed into its text, is masked for anyone who is not an agent; internal notes are not part
    of it at all."""

    pk: int
    reference: str
    tier: int
    tier_label: str
    stage_label: str
    category_label: str
    subject: str
    description: str
    order_ref: str
    location: str
    desired_outcome: str
    received_at: datetime
    customer_name: str
    is_key_customer: bool
    phone: str
    email: str
    masked: bool
    owner: str
    handler: str
    desk_url: str


def case_brief(case: Case, user: User) -> CaseBrief:
    customer = case.customer
    phone, email = contact_for(user, phone=customer.phone, email=customer.email)
    desk_url = reverse("desk:case", args=[case.pk]) if perms.is_agent(user) else ""
    return CaseBrief(
        pk=case.pk, reference=case.reference or "", tier=case.tier,
        tier_label=str(case.get_tier_display()), stage_label=str(case.get_stage_display()),
        category_label=str(case.get_category_display()),
        subject=text_for(user, case.subject), description=text_for(user, case.description),
        order_ref=case.order_ref, location=text_for(user, case.location),
        desired_outcome=text_for(user, case.desired_outcome), received_at=case.received_at,
        customer_name=customer.name, is_key_customer=customer.is_key_customer,
        phone=phone, email=email, masked=not perms.can_see_contact_data(user),
        owner=str(case.owner or ""), handler=str(case.handler or ""), desk_url=desk_url,
    )


@dataclass
class HistoryItem:
    at: datetime
    label: str
    who: str
    text: str


@dataclass
class RequestDetail:
    req: CollaborationRequest
    case: CaseBrief
    overdue: bool
    actions: list[Action]
    can_collaborate: bool
    todos: list[CollaborationTodo]
    notes: list[CollaborationNote]
    history: list[HistoryItem]
    assignees: list[User]
    other_requests: list[CollaborationRequest]
    attachments: list[Any]
    shared_files: list[Any]


def request_for_user(*, user: User, pk: int) -> CollaborationRequest:
    """One request the user may see, ready for permission checks; 404 otherwise (existence
    of other departments' requests must not leak)."""
    req = (
        requests_visible_to(user)
        .select_related(
            "case__customer", "case__owner", "case__handler", "department__liaison",
            "requested_by", "requesting_department", "escalated_to__manager", "answered_by",
            "decided_by", "accepted_by", "disputed_by", "closed_by",
        )
        .prefetch_related("case__task_force")
        # the calendar when the department clock counts working time (else None)
        .annotate(clock_calendar_id=Subquery(
            CaseDeadline.objects.filter(request=OuterRef("pk"), clock=Clock.DEPARTMENT)
            .order_by("-started_at").values("calendar_id")[:1]))
        .filter(pk=pk)
        .first()
    )
    if req is None:
        raise Http404("No such request")
    return req


def _history(req: CollaborationRequest, user: User) -> list[HistoryItem]:
    items = [HistoryItem(req.created_at, str(_("Asked")), str(req.requested_by), req.ask)]
    if req.answered_at:
        items.append(HistoryItem(req.answered_at, str(_("Plan proposed")),
                                 str(req.answered_by or ""), req.plan))
    if req.accepted_at:
        items.append(HistoryItem(req.accepted_at, str(_("Plan accepted")),
                                 str(req.accepted_by or ""), ""))
    if req.escalated_at:
        to = req.escalated_to or _("the supervisors")
        items.append(HistoryItem(req.escalated_at, str(_("Disputed, escalated to %(to)s")
                                                       % {"to": to}), str(req.disputed_by or ""),
                                 req.dispute_reason))
    if req.decided_at:
        items.append(HistoryItem(req.decided_at, str(_("Decided")), str(req.decided_by or ""),
                                 req.decision))
    if req.closed_at:
        items.append(HistoryItem(req.closed_at, str(req.get_status_display()),
                                 str(req.closed_by or ""), req.closing_note))
    return [HistoryItem(i.at, i.label, i.who, text_for(user, i.text)) for i in items]


def request_detail_for(*, user: User, pk: int, now: datetime | None = None) -> RequestDetail:
    now = now or timezone.now()
    req = request_for_user(user=user, pk=pk)
    collaborate = can_collaborate(req, user) and req.status not in (
        RequestStatus.DONE, RequestStatus.WITHDRAWN)
    others: list[CollaborationRequest] = []
    if not is_department_only(user):
        others = list(
            CollaborationRequest.objects.filter(case_id=req.case_id).exclude(pk=req.pk)
            .select_related("department").order_by("created_at")
        )
    files = list(
        CaseAttachment.objects.filter(case_id=req.case_id)
        .filter(Q(note__isnull=True, request__isnull=True) | Q(request=req))
        .select_related("uploaded_by").order_by("uploaded_at", "id"))
    todos = list(req.todos.select_related("assignee", "done_by").order_by(
        "done_at", "due_at", "id"))
    return RequestDetail(
        req=req, case=case_brief(req.case, user), overdue=req.is_overdue(now),
        actions=available_actions(req, user, open_todos=sum(t.done_at is None for t in todos)),
        can_collaborate=collaborate, todos=todos,
        notes=list(req.notes.select_related("author").order_by("-created_at", "-id")),
        history=_history(req, user),
        assignees=todo_assignees(req) if collaborate else [],
        other_requests=others,
        # Photos and receipts that came with the complaint help the department, and the
        # files shared on this request (``cases.selectors.attachments`` decides downloads).
        attachments=[f for f in files if f.request_id is None],
        shared_files=[f for f in files if f.request_id == req.pk],
    )


# --- the case workspace's panel, and the create form -------------------------------------------
@dataclass
class CaseCollaboration:
    requests: list[CollaborationRequest]
    waiting_on: list[str]
    can_request: bool
    new_url: str


def case_collaboration(*, case: Case, user: User) -> CaseCollaboration:
    """The requests of one case for its workspace (one query, none when the case's
    ``has_requests`` flag says it has none)."""
    latest = CollaborationNote.objects.filter(request=OuterRef("pk")).order_by(
        "-created_at", "-id")
    reqs = [] if not present(case, "requests") else list(
        requests_visible_to(user).filter(case=case)
        .select_related("department", "requested_by", "escalated_to")
        .annotate(
            open_todo_count=Count("todos", filter=Q(todos__done_at__isnull=True)),
            latest_note_body=Subquery(latest.values("body")[:1]),
        )
        .order_by("-created_at")
    )
    waiting = list(dict.fromkeys(str(r.department) for r in reqs if r.is_waiting))
    may = perms.can_request_help(case, user) and case.stage in REQUESTABLE_STAGES
    return CaseCollaboration(
        requests=reqs, waiting_on=waiting, can_request=may,
        new_url=reverse("board:new", args=[case.pk]),
    )


def departments_to_ask(user: User) -> QuerySet[Department]:
    """Active departments with a liaison, other than the asker's own."""
    qs = Department.objects.filter(is_active=True, liaison__isnull=False,
                                   liaison__is_active=True)
    if user.department_id:
        qs = qs.exclude(pk=user.department_id)
    return qs.order_by("name")


def case_for_new_request(*, user: User, case_id: int) -> Case:
    """The case an agent asks help for: 404 for non-agents and unknown cases."""
    if not perms.is_agent(user):
        raise Http404("No such case")
    case = (
        Case.objects.for_user(user).select_related("customer", "owner", "handler")
        .prefetch_related("task_force").filter(pk=case_id).first()
    )
    if case is None:
        raise Http404("No such case")
    return case
