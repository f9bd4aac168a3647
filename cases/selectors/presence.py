"""Which of a case's panels hold anything, read with the case itself: the workspace skips
the reads of what most cases leave empty."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from cases.models import (
    Case,
    CaseAttachment,
    CaseLink,
    CaseMerge,
    CollaborationRequest,
    Compensation,
    FinalLetter,
    Revisit,
)


def _has(model: type, **match: OuterRef) -> Exists:
    return Exists(model.objects.filter(**match))


def workspace_presence() -> dict[str, Exists]:
    """``has_<panel>`` flags read with the case: whether its task force, requests, compensations,
    revisits, files, letters, links, live merges and the customer's other cases exist at
    all, so the workspace skips the reads of what most cases leave empty (each flag is one
    index probe inside the case's own query)."""
    case = OuterRef("pk")
    return {
        "has_task_force": _has(Case.task_force.through, case=case),
        "has_requests": _has(CollaborationRequest, case=case),
        "has_compensations": _has(Compensation, case=case),
        "has_revisits": _has(Revisit, case=case),
        "has_attachments": _has(CaseAttachment, case=case),
        "has_letters": _has(FinalLetter, case=case),
        "has_links": Exists(CaseLink.objects.filter(Q(from_case=case) | Q(to_case=case))),
        "has_merges": Exists(CaseMerge.objects.filter(Q(primary=case) | Q(duplicate=case),
                                                      undone_at__isnull=True)),
        "has_other_cases": Exists(Case.objects.filter(customer_id=OuterRef("customer_id"))
                                  .exclude(pk=case)),
    }


def present(case: Case, panel: str) -> bool:
    """Whether ``case`` may hold rows for ``panel`` (True when the case was read without
    the flags of ``workspace_presence``, so a caller's other reads stay correct)."""
    return getattr(case, f"has_{panel}", True)
