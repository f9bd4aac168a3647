"""The case workspace: one case with its timeline, clocks, compensations and the customer's
other cases, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from cases.choices import CompensationStatus
from cases.models import (
    Case,
    CaseDeadline,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Revisit,
    User,
)
from cases.selectors.timeline import (
    Cursor,
    TimelineEntry,
    TimelinePage,
    case_timeline_page,
    state_label,
    transition_label,
)

__all__ = ["TimelineEntry", "Workspace", "approved_compensations", "case_for_action",
           "case_for_workspace", "case_open_deadlines", "case_workspace",
           "pending_compensations", "present", "state_label", "transition_label",
           "workspace_presence"]

from .lists import ROW_RELATIONS
from .presence import present, workspace_presence


def case_for_workspace(user: User, pk: int) -> Case:
    """One case as ``user`` may see it, with everything the header and permission checks
    read, and the ``workspace_presence`` flags. Raises Case.DoesNotExist when it is not
    visible (the view answers 404).

    The people, department, review, regime and root cause are joined in; the links most
    cases leave empty are prefetched (an empty link costs no query), which keeps the
    statement a join of a few tables."""
    case = (
        Case.objects.for_user(user)
        .select_related(*ROW_RELATIONS, "review__reviewer", "statutory__regime",
                        "complained_employee", "root_cause")
        .prefetch_related("group", "duplicate_of", "source")
        .annotate(**workspace_presence())
        .get(pk=pk)
    )
    # The task force is read only when there is one: an empty queryset fills the prefetch
    # cache (which the permission checks read) without a query.
    members = User.objects.all() if case.has_task_force else User.objects.none()
    prefetch_related_objects([case], Prefetch("task_force", queryset=members))
    return case


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


@dataclass
class Workspace:
    """Everything the case page shows, read in a fixed number of queries."""

    case: Case
    deadlines: list[CaseDeadline]
    timeline: TimelinePage
    compensations: list[Compensation]
    requests: list[CollaborationRequest]
    revisits: list[Revisit]
    other_cases: list[Case]
    other_cases_more: bool
    attachments: list[Any]


OTHER_CASES_SHOWN = 10


def case_workspace(
    case: Case, *, user: User, requests: list[CollaborationRequest] | None = None,
    before: Cursor | None = None,
) -> Workspace:
    """The timeline's latest page (``cases.selectors.timeline``; ``before``: an earlier
    page), the customer's other cases, open clocks, compensations, revisits and the files
    that came with the complaint, in a fixed number of queries.

    ``requests``: the case's department requests when the caller already read them (with
    their department), to save a query."""
    if requests is None:
        requests = list(
            CollaborationRequest.objects.filter(case=case)
            .select_related("department", "requested_by")
            .order_by("created_at", "id")
        ) if present(case, "requests") else []
    else:
        requests = sorted(requests, key=lambda r: (r.created_at, r.pk))
    compensations = list(
        Compensation.objects.filter(case=case).select_related("proposed_by", "decided_by")
    ) if present(case, "compensations") else []
    revisits = list(
        Revisit.objects.filter(case=case).select_related("answered_by")
    ) if present(case, "revisits") else []
    timeline = case_timeline_page(case, user=user, requests=requests,
                                  compensations=compensations, revisits=revisits,
                                  before=before)
    others = list(
        Case.objects.filter(customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .only("id", "reference", "subject", "stage", "tier", "received_at", "customer_id")
        .order_by("-received_at", "-id")[: OTHER_CASES_SHOWN + 1]
    ) if present(case, "other_cases") else []
    return Workspace(
        case=case,
        deadlines=case_open_deadlines(case),
        timeline=timeline,
        compensations=compensations,
        requests=requests,
        revisits=revisits,
        other_cases=others[:OTHER_CASES_SHOWN],
        other_cases_more=len(others) > OTHER_CASES_SHOWN,
        # Files added later are shown on their note, reply or department request.
        attachments=timeline.intake_files,
    )


def pending_compensations(case: Case) -> list[Compensation]:
    return list(
        Compensation.objects.filter(case=case, status=CompensationStatus.PROPOSED)
        .select_related("proposed_by")
    )


def approved_compensations(case: Case) -> list[Compensation]:
    return list(Compensation.objects.filter(case=case, status=CompensationStatus.APPROVED))


def last_change_of(case: Case) -> CaseTransition | None:
    """The latest logged change of ``case`` with its actor (the conflict banner's "who")."""
    return (CaseTransition.objects.filter(case=case).select_related("actor")
            .order_by("-at", "-id").first())
