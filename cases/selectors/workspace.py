"""The case workspace: one case with its timeline, clocks, compensations and the customer's
other cases, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import CompensationStatus, NoteKind, Stage, Tier
from cases.models import (
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Notice,
    Revisit,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.services.collaboration import TIMELINE_FIELD as REQUEST_FIELD


def case_for_workspace(user: User, pk: int) -> Case:
    """One case as ``user`` may see it, with everything the header and permission checks
    read. Raises Case.DoesNotExist when it is not visible (the view answers 404)."""
    return (
        Case.objects.for_user(user)
        .select_related("customer", "owner", "handler", "department", "root_cause", "group",
                        "duplicate_of", "source", "statutory__regime", "review__reviewer")
        .prefetch_related("task_force")
        .get(pk=pk)
    )


def case_for_action(user: User, pk: int) -> Case:
    """A case for an action page: enough for the permission predicates (owner, handler,
    task force, tier, stage) and the form's header."""
    return (
        Case.objects.for_user(user)
        .select_related("customer", "owner", "handler", "department")
        .prefetch_related("task_force")
        .get(pk=pk)
    )


def case_open_deadlines(case: Case, now: datetime | None = None) -> list[CaseDeadline]:
    """The running clocks, nearest first, each with ``live_state`` (on time / at risk /
    breached as of now, whether or not the sweep has run yet; "paused" while a pause stops
    it)."""
    from cases.services.clocks import live_state

    now = now or timezone.now()
    rows = list(case.deadlines.filter(stopped_at__isnull=True).order_by("due_at"))
    for row in rows:
        row.live_state = "paused" if row.paused_at else live_state(row, now)
    return rows


_EXTRA_TRANSITION_LABELS = {
    "receive": _("Received"),
    "pause": _("Paused"),
    "resume": _("Resumed"),
}


def transition_label(name: str) -> str:
    from cases.transition_labels import TRANSITION_LABELS

    label = TRANSITION_LABELS.get(name) or _EXTRA_TRANSITION_LABELS.get(name)
    return str(label) if label else name.replace("_", " ")


def state_label(field_name: str, value: str) -> str:
    """A logged state value as a person reads it (stage, tier and department-request status
    names are translated)."""
    if value in ("", None):
        return "—"
    try:
        if field_name == "stage":
            return str(Stage(value).label)
        if field_name == "tier":
            return str(Tier(int(value)).label)
        if field_name == REQUEST_FIELD:
            return str(RequestStatus(value).label)
    except ValueError:
        pass
    return str(value)


def _request_for_row(
    row: CaseTransition, requests: list[CollaborationRequest]
) -> CollaborationRequest | None:
    """The department request a ``field="request"`` timeline row is about. The collaboration
    service writes the note as "<department>: <text>" (or just the department), and a case has
    at most one waiting request per department, so it is the latest request to that
    department created by the row's time."""
    found = None
    for req in requests:  # oldest first
        if req.created_at > row.at:
            break
        dept = str(req.department)
        if row.note == dept or row.note.startswith(f"{dept}: "):
            found = req
    return found


def _request_url(req: CollaborationRequest) -> str:
    return reverse("board:request", args=[req.pk])


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # transition / note / notice / collaboration / compensation / revisit
    obj: Any
    css: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _key(entry: TimelineEntry) -> tuple[datetime, int]:
    return entry.at, getattr(entry.obj, "pk", 0) or 0


@dataclass
class Workspace:
    """Everything the case page shows, read in a fixed number of queries."""

    case: Case
    deadlines: list[CaseDeadline]
    timeline: list[TimelineEntry]
    compensations: list[Compensation]
    requests: list[CollaborationRequest]
    revisits: list[Revisit]
    other_cases: list[Case]
    other_cases_more: bool
    attachments: list[Any]


OTHER_CASES_SHOWN = 10


def case_workspace(
    case: Case, *, requests: list[CollaborationRequest] | None = None
) -> Workspace:
    """The timeline (transitions, notes, customer messages, notices, collaboration,
    compensation, revisits, in time order), the customer's other cases and open clocks.

    ``requests``: the case's department requests when the caller already read them (with
    their department), to save a query.

    Department requests appear through their ``field="request"`` transition rows (the record),
    each linked to its request page; a request without a ``request_help`` row (written before
    the board logged its steps) still shows as a ``collaboration`` entry."""
    transitions = list(
        CaseTransition.objects.filter(case=case).select_related("actor").order_by("at", "id")
    )
    notes = list(CaseNote.objects.filter(case=case).select_related("author", "moved_from"))
    notices = list(Notice.objects.filter(case=case).defer("context").order_by("created_at"))
    if requests is None:
        requests = list(
            CollaborationRequest.objects.filter(case=case)
            .select_related("department", "requested_by")
            .order_by("created_at", "id")
        )
    else:
        requests = sorted(requests, key=lambda r: (r.created_at, r.pk))
    compensations = list(
        Compensation.objects.filter(case=case).select_related("proposed_by", "decided_by")
    )
    revisits = list(Revisit.objects.filter(case=case).select_related("answered_by"))
    timeline: list[TimelineEntry] = []
    logged_requests: set[int] = set()
    for t in transitions:
        extra = {
            "label": transition_label(t.name),
            "source": state_label(t.field, t.source),
            "target": state_label(t.field, t.target),
        }
        if t.field == REQUEST_FIELD:
            req = _request_for_row(t, requests)
            if req is not None:
                extra["request"] = req
                extra["request_url"] = _request_url(req)
                if t.name == "request_help":
                    logged_requests.add(req.pk)
        timeline.append(TimelineEntry(t.at, "transition", t, "kind-transition", extra))
    for n in notes:
        css = "kind-customer" if n.kind in (NoteKind.CUSTOMER_MESSAGE, NoteKind.CONTACT) else ""
        timeline.append(TimelineEntry(n.created_at, "note", n, css))
    for notice in notices:
        timeline.append(TimelineEntry(notice.created_at, "notice", notice, "kind-customer"))
    for r in requests:
        if r.pk not in logged_requests:
            timeline.append(TimelineEntry(r.created_at, "collaboration", r, "",
                                          {"request_url": _request_url(r)}))
    for c in compensations:
        timeline.append(TimelineEntry(c.created_at, "compensation", c))
        if c.decided_at and c.decided_by_id and c.decided_by_id != c.proposed_by_id:
            timeline.append(TimelineEntry(c.decided_at, "compensation_decision", c))
    for rv in revisits:
        if rv.answered_at:
            timeline.append(TimelineEntry(rv.answered_at, "revisit", rv, "kind-customer"))
    timeline.sort(key=_key)
    others = list(
        Case.objects.filter(customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .only("id", "reference", "subject", "stage", "tier", "received_at", "customer_id")
        .order_by("-received_at", "-id")[: OTHER_CASES_SHOWN + 1]
    )
    return Workspace(
        case=case,
        deadlines=case_open_deadlines(case),
        timeline=timeline,
        compensations=compensations,
        requests=requests,
        revisits=revisits,
        other_cases=others[:OTHER_CASES_SHOWN],
        other_cases_more=len(others) > OTHER_CASES_SHOWN,
        attachments=list(case.attachments.all()),
    )


def pending_compensations(case: Case) -> list[Compensation]:
    return list(
        Compensation.objects.filter(case=case, status=CompensationStatus.PROPOSED)
        .select_related("proposed_by")
    )


def approved_compensations(case: Case) -> list[Compensation]:
    return list(Compensation.objects.filter(case=case, status=CompensationStatus.APPROVED))
