"""Reads for the shared board, the request page and the case workspace's collaboration panel.

Scope: agents and supervisors see every request (they see every case); a liaison sees only the
requests to their own department; a manager also sees the disputes escalated to their
department. One queryset (``requests_visible_to``) serves the board, the detail page and the
actions, so what a list shows and what a URL opens never disagree.

Every page is a fixed number of queries whatever the number of cards: the latest progress
note is a subquery annotation, open to-dos one prefetch, and what the permission checks need
(department, liaison, escalation manager, case team) comes with ``select_related``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import Clock, Tier
from cases.masking import contact_for
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
from cases.models.collaboration import OPEN_REQUEST_STATUSES, RequestStatus
from cases.services.collaboration import (
    REQUESTABLE_STAGES,
    can_collaborate,
    todo_assignees,
)
from cases.transition_labels import TRANSITION_LABELS

# Board columns, in the order a request travels. Withdrawn requests leave the board; done ones
# stay for a week so both sides see the result.
BOARD_COLUMNS = (
    RequestStatus.OPEN, RequestStatus.ANSWERED, RequestStatus.ESCALATED,
    RequestStatus.ACCEPTED, RequestStatus.DECIDED, RequestStatus.DONE,
)
DONE_VISIBLE_DAYS = 7
BOARD_CARD_LIMIT = 500

# Actions (request transitions) and the text each needs: (form field, label, required).
ACTIONS: dict[str, tuple[str, Any, bool]] = {
    "answer": ("plan", _("Proposed plan"), True),
    "accept": ("note", _("Note (optional)"), False),
    "dispute": ("reason", _("Why the plan does not work"), True),
    "decide": ("decision", _("Decision"), True),
    "complete": ("note", _("What was done (optional)"), False),
    "withdraw": ("reason", _("Why the request is withdrawn"), True),
}


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    field: str
    field_label: str
    required: bool
    style: str


_STYLES = {"accept": "success", "answer": "primary", "decide": "primary", "complete": "success",
           "dispute": "outline-danger", "withdraw": "outline-secondary"}


def available_actions(
    req: CollaborationRequest, user: User, *, open_todos: int = 0
) -> list[Action]:
    """The transitions ``user`` may run on ``req`` now (no queries when the caller loaded the
    department, escalation target and case team). "Mark done" waits for the open to-dos."""
    out = []
    for name, (field_name, field_label, required) in ACTIONS.items():
        if name == "complete" and open_todos:
            continue
        meta = getattr(req, name)._django_fsm  # noqa: SLF001 (django-fsm's metadata)
        transition = meta.get_transition(req.status)
        if transition is not None and transition.has_perm(req, user):
            out.append(Action(name, str(TRANSITION_LABELS[name]), field_name, str(field_label),
                              required, _STYLES[name]))
    return out


# --- scope --------------------------------------------------------------------------------------
def requests_visible_to(user: User) -> QuerySet[CollaborationRequest]:
    qs = CollaborationRequest.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if perms.is_agent(user) or user.is_superuser:
        return qs
    return qs.filter(Q(department__liaison=user) | Q(escalated_to__manager=user))


def is_department_only(user: User) -> bool:
    """Liaisons (and managers who are not agents) see only their own department's work."""
    return not (perms.is_agent(user) or user.is_superuser)


def _card_queryset(qs: QuerySet[CollaborationRequest]) -> QuerySet[CollaborationRequest]:
    latest = CollaborationNote.objects.filter(request=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        qs.select_related(
            "case", "department", "requested_by", "escalated_to", "requesting_department",
        )
        .prefetch_related(
            Prefetch(
                "todos",
                queryset=CollaborationTodo.objects.filter(done_at__isnull=True)
                .select_related("assignee").order_by("due_at", "id"),
                to_attr="open_todos",
            ),
            "case__task_force",
        )
        .annotate(
            open_todo_count=Count("todos", filter=Q(todos__done_at__isnull=True), distinct=True),
            latest_note_body=Subquery(latest.values("body")[:1]),
            latest_note_at=Subquery(latest.values("created_at")[:1]),
            latest_note_author=Subquery(latest.values("author__display_name")[:1]),
            latest_note_username=Subquery(latest.values("author__username")[:1]),
            risk_at=Subquery(
                CaseDeadline.objects.filter(request=OuterRef("pk"), clock=Clock.DEPARTMENT)
                .order_by("-started_at").values("risk_at")[:1]
            ),
        )
    )


# --- the board ----------------------------------------------------------------------------------
class BoardFilter(django_filters.FilterSet):
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.filter(is_active=True), label=_("Department"),
        empty_label=_("All departments"),
    )
    tier = django_filters.ChoiceFilter(
        field_name="case__tier", label=_("Tier"), empty_label=_("All tiers"),
        choices=[c for c in Tier.choices if c[0] != Tier.UNTRIAGED],
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=_("Overdue only"), widget=forms.CheckboxInput,
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", label=_("My cases only"), widget=forms.CheckboxInput,
    )

    class Meta:
        model = CollaborationRequest
        fields = ["department", "tier", "overdue", "mine"]

    def __init__(self, *args: Any, user: User, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.now = user, now
        if is_department_only(user):
            # A liaison's board is their department's: no department or "mine" filter.
            del self.filters["department"]
            del self.filters["mine"]

    def filter_overdue(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return qs
        return qs.filter(status=RequestStatus.OPEN, due_at__lte=self.now)

    def filter_mine(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return qs
        me = self.user.pk
        return qs.filter(
            Q(requested_by_id=me) | Q(case__owner_id=me) | Q(case__handler_id=me)
            | Q(case__task_force__id=me)
        ).distinct()


@dataclass
class Card:
    req: CollaborationRequest
    overdue: bool
    actions: list[Action]
    latest_author: str


@dataclass
class Column:
    status: str
    label: str
    cards: list[Card] = field(default_factory=list)


@dataclass
class Board:
    columns: list[Column]
    filter: BoardFilter
    department: Department | None  # a liaison's own department
    total: int
    truncated: bool
    overdue_count: int


def board_for_user(*, user: User, params: Any, now: datetime | None = None) -> Board:
    """The shared board: one card per request in columns by status, filtered by
    department (liaisons: always their own), tier, overdue and "my cases"."""
    now = now or timezone.now()
    own = Department.objects.filter(liaison=user).first() if is_department_only(user) else None
    base = requests_visible_to(user).filter(
        Q(status__in=OPEN_REQUEST_STATUSES)
        | Q(status=RequestStatus.DONE, closed_at__gte=now - timedelta(days=DONE_VISIBLE_DAYS))
    )
    filterset = BoardFilter(params or None, queryset=base, user=user, now=now)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    rows = list(_card_queryset(qs).order_by("due_at", "id")[: BOARD_CARD_LIMIT + 1])
    truncated = len(rows) > BOARD_CARD_LIMIT
    rows = rows[:BOARD_CARD_LIMIT]
    columns = {s: Column(s, str(RequestStatus(s).label)) for s in BOARD_COLUMNS}
    overdue_count = 0
    for req in rows:
        overdue = req.is_overdue(now)
        overdue_count += overdue
        columns[req.status].cards.append(Card(
            req=req, overdue=overdue,
            actions=available_actions(req, user, open_todos=req.open_todo_count),
            latest_author=req.latest_note_author or req.latest_note_username or "",
        ))
    return Board(columns=list(columns.values()), filter=filterset, department=own,
                 total=len(rows), truncated=truncated, overdue_count=overdue_count)


# --- alerts about requests ---------------------------------------------------------------------
@dataclass
class BoardAlert:
    pk: int
    message: str
    created_at: datetime
    url: str


def board_alerts(*, user: User, limit: int = 5) -> tuple[list[BoardAlert], int]:
    """The user's unread alerts about requests (new, answered, escalated, overdue, ...), each
    linked to the request page rather than the desk (which liaisons cannot open)."""
    unread = Alert.objects.filter(recipient=user, read_at__isnull=True,
                                  kind__startswith="request_")
    # Always the same three queries, so pages with and without alerts cost the same.
    rows = list(unread.select_related("deadline").order_by("-created_at", "-id")[:limit])
    total = unread.count()
    by_case = dict(
        requests_visible_to(user).filter(case_id__in={a.case_id for a in rows})
        .order_by("created_at").values_list("case_id", "pk")
    )
    out = []
    for a in rows:
        request_id = (a.deadline.request_id if a.deadline else None) or by_case.get(a.case_id)
        url = reverse("board:request", args=[request_id]) if request_id else ""
        out.append(BoardAlert(a.pk, a.message, a.created_at, url))
    return out, total


# --- the request page ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseBrief:
    """What the people on a request may see of its case. Contact data is masked for anyone
    who is not an agent; internal notes are not part of it at all."""

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
        category_label=str(case.get_category_display()), subject=case.subject,
        description=case.description, order_ref=case.order_ref, location=case.location,
        desired_outcome=case.desired_outcome, received_at=case.received_at,
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
        .filter(pk=pk)
        .first()
    )
    if req is None:
        raise Http404("No such request")
    return req


def _history(req: CollaborationRequest) -> list[HistoryItem]:
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
    return items


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
    todos = list(req.todos.select_related("assignee", "done_by").order_by(
        "done_at", "due_at", "id"))
    return RequestDetail(
        req=req, case=case_brief(req.case, user), overdue=req.is_overdue(now),
        actions=available_actions(req, user, open_todos=sum(t.done_at is None for t in todos)),
        can_collaborate=collaborate, todos=todos,
        notes=list(req.notes.select_related("author").order_by("-created_at", "-id")),
        history=_history(req),
        assignees=todo_assignees(req) if collaborate else [],
        other_requests=others,
        # Photos and receipts help the department; the download view lets anyone who can
        # see the case (Case.objects.for_user: liaisons of its requests) fetch them.
        attachments=list(req.case.attachments.order_by("uploaded_at", "id")),
    )


# --- the case workspace's panel, and the create form -------------------------------------------
@dataclass
class CaseCollaboration:
    requests: list[CollaborationRequest]
    waiting_on: list[str]
    can_request: bool
    new_url: str


def case_collaboration(*, case: Case, user: User) -> CaseCollaboration:
    """The requests of one case for its workspace (two queries)."""
    latest = CollaborationNote.objects.filter(request=OuterRef("pk")).order_by(
        "-created_at", "-id")
    reqs = list(
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
