"""Reads for the shared board: who sees which department requests, the board's cards and
columns, the actions a card offers, and the alerts about requests.

Scope: agents and supervisors see every request (they see every case); a liaison sees only the
requests to their own department; a manager also sees the disputes escalated to their
department. One queryset (``requests_visible_to``) serves the board, the request page and the
actions, so what a list shows and what a URL opens never disagree.

The board is a fixed number of queries whatever the number of cards: the latest progress note
is a subquery annotation, open to-dos one prefetch, and what the permission checks need
(department, liaison, escalation manager, case team) comes with ``select_related``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import Clock, Tier
from cases.masking import text_for
from cases.models import (
    Alert,
    CaseDeadline,
    CollaborationNote,
    CollaborationRequest,
    CollaborationTodo,
    Department,
    User,
)
from cases.models.collaboration import OPEN_REQUEST_STATUSES, RequestStatus
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
    department, escalation target and case team). "Mark done" waits for the open to-dos.

    Conditions are not checked: what they test (a plan, a decision) is what the action's form
    asks for. The request's transitions name their sources (no ``*`` or ``+``)."""
    from_here = {t.name: t for t in req.get_all_status_transitions() if t.source == req.status}
    out = []
    for name, (field_name, field_label, required) in ACTIONS.items():
        if name == "complete" and open_todos:
            continue
        transition = from_here.get(name)
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
            # the calendar when the department clock counts working time (else None)
            clock_calendar_id=Subquery(
                CaseDeadline.objects.filter(request=OuterRef("pk"), clock=Clock.DEPARTMENT)
                .order_by("-started_at").values("calendar_id")[:1]
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
        out.append(BoardAlert(a.pk, text_for(user, a.message), a.created_at, url))
    return out, total
