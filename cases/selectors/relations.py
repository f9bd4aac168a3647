"""Reads of related cases: a case's links and merges (the workspace panel), and group
complaints with their cases (the group pages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cases import permissions as perms
from cases.choices import OPEN_STAGES
from cases.models import Case, CaseLink, CaseMerge, ComplaintGroup, LinkKind, User
from cases.selectors.lists import label_rows
from cases.selectors.presence import present
from cases.services.merging import undo_refusal


@dataclass
class RelatedCase:
    link: CaseLink
    other: Case
    split_label: str = ""  # "split off" / "split from" for a split link


@dataclass
class Relations:
    links: list[RelatedCase] = field(default_factory=list)
    # Live merges of other cases into this one, each with whether the user may undo it.
    merged_in: list[tuple[CaseMerge, bool]] = field(default_factory=list)
    # The live merge of this case into another (this case is the duplicate).
    merged_into: CaseMerge | None = None
    may_undo_merged_into: bool = False
    may_merge: bool = False


_OTHER_COLUMNS = ("id", "reference", "subject", "stage", "tier")


def case_relations(case: Case, user: User) -> Relations:
    """The links and live merges of ``case`` as ``user`` sees them: a query each, none for
    what the case's ``has_links`` / ``has_merges`` flags say is absent."""
    now = timezone.now()
    out = Relations(may_merge=perms.can_merge(case, user))
    if present(case, "links"):
        _read_links(case, out)
    if present(case, "merges"):
        _read_merges(case, user, out, now)
    return out


def _read_links(case: Case, out: Relations) -> None:
    links = (CaseLink.objects.filter(Q(from_case=case) | Q(to_case=case))
             .select_related("from_case", "to_case").order_by("created_at", "id")
             .only("id", "kind", "from_case_id", "to_case_id", "created_at",
                   *(f"from_case__{c}" for c in _OTHER_COLUMNS),
                   *(f"to_case__{c}" for c in _OTHER_COLUMNS)))
    for link in links:
        other = link.to_case if link.from_case_id == case.pk else link.from_case
        out.links.append(RelatedCase(link, other, _split_label(link, case)))


def _read_merges(case: Case, user: User, out: Relations, now: datetime) -> None:
    merges = (CaseMerge.objects.filter(Q(primary=case) | Q(duplicate=case),
                                       undone_at__isnull=True)
              .select_related("primary", "duplicate", "merged_by"))
    for merge in merges:
        may_undo = undo_refusal(merge, user, now) is None
        if merge.duplicate_id == case.pk:
            out.merged_into, out.may_undo_merged_into = merge, may_undo
        else:
            out.merged_in.append((merge, may_undo))


def _split_label(link: CaseLink, case: Case) -> str:
    if link.kind != LinkKind.SPLIT:
        return ""
    return "to" if link.from_case_id == case.pk else "from"


def groups_for_desk() -> QuerySet[ComplaintGroup]:
    """Group complaints, most recent first, with how many of their cases are open."""
    return ComplaintGroup.objects.annotate(
        open_count=Count("cases", filter=Q(cases__stage__in=OPEN_STAGES)),
    ).order_by("-last_received_at", "-id")


def group_cases(group: ComplaintGroup) -> list[Any]:
    """The group's cases with what the group page shows (stage, tier, clocks, people)."""
    return label_rows(list(
        Case.objects.filter(group=group).select_related("customer", "owner", "handler",
                                                        "department")
        .order_by("received_at", "id")))
