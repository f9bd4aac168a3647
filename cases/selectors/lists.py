"""The desk's case list: its base queryset, sorts, paging and row labels, and the agents its
filters offer. A page is a constant number of queries whatever the number of rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.choices import Role
from cases.models import Case, CaseRegime, User


@dataclass(frozen=True)
class SortKey:
    """One column of a list sort. ``nullable`` keys sort their NULLs last (ascending only)."""

    field: str
    descending: bool = False
    nullable: bool = False

    def order(self) -> Any:
        if self.nullable:
            return F(self.field).asc(nulls_last=True)
        return f"-{self.field}" if self.descending else self.field


# Sort keys offered by the list, the id last as tie-breaker (all index-backed on PostgreSQL;
# see desk_search_indexes). A page is read after the key of its previous page's last row
# (cases.selectors.keyset), so the keys identify a row and follow the ORDER BY exactly.
_DUE = SortKey("next_due_at", nullable=True)
SORT_KEYS: dict[str, tuple[SortKey, ...]] = {
    "due": (_DUE, SortKey("id")),
    "-received": (SortKey("received_at", descending=True), SortKey("id", descending=True)),
    "received": (SortKey("received_at"), SortKey("id")),
    "tier": (SortKey("tier"), _DUE, SortKey("id")),
    "-updated": (SortKey("updated_at", descending=True), SortKey("id", descending=True)),
}
_SORT_LABELS: dict[str, Promise] = {
    "due": _("Nearest due first"),
    "-received": _("Newest first"),
    "received": _("Oldest first"),
    "tier": _("Tier, then nearest due"),
    "-updated": _("Recently updated"),
}
SORTS: dict[str, tuple[Promise, list[Any]]] = {
    name: (_SORT_LABELS[name], [key.order() for key in keys]) for name, keys in SORT_KEYS.items()
}
DEFAULT_SORT = "due"
# What a row (and the case page's header) joins in. PostgreSQL's planning time grows with
# the number of joined tables far faster than its execution time (see README, Benchmarks):
# the statutory regime and the rest are read by their own short queries instead.
ROW_RELATIONS = ("customer", "owner", "handler", "department")


# The columns a row shows (templatetags/desk_rows.py, desk/_mini_table.html): a case has ~70
# and each joined person ~15, and building the model instances of a page from all of them
# cost more than its queries.
_PERSON = ("display_name", "first_name", "last_name", "username")
ROW_FIELDS = (
    "id", "reference", "subject", "tier", "stage", "channel", "category", "received_at",
    "next_due_at", "next_risk_at", "next_due_calendar_id", "sla_state", "paused_since", "group",
    "statutory_due_at", "statutory_stopped_at", "awaiting_reply_since", *ROW_RELATIONS,
    "customer__name", "customer__is_key_customer", "department__name",
    *(f"owner__{name}" for name in _PERSON), *(f"handler__{name}" for name in _PERSON),
)


def statutory_prefetch() -> Prefetch:
    """The case's statutory regime link with its regime, in one query for all the rows."""
    return Prefetch("statutory", queryset=CaseRegime.objects.select_related("regime"))


def case_list_for_desk(user: User) -> QuerySet[Case]:
    """The base queryset of the desk's case list: what ``user`` may see, with what a row shows
    joined in (customer, owner, handler, department) and the statutory regime read with it
    (``statutory_prefetch``): a page of rows is two queries whatever its length."""
    return (
        Case.objects.for_user(user)
        .select_related(*ROW_RELATIONS)
        .prefetch_related(statutory_prefetch())
        .only(*ROW_FIELDS)
    )


class PagedCases(Sequence):
    """A sorted, filtered case list as the paginator's sequence, read in two steps: the sort
    keys and ids of the page (``SELECT ... ORDER BY ... LIMIT/OFFSET``: an index-only scan of
    the list's sort index, whatever the filters), then those rows with what a row shows joined
    in, by primary key. One query more than a single SELECT, but its plan does not depend on
    PostgreSQL's row estimate: with the wide joined SELECT a misestimated filter (the
    deadline states' correlated columns) made it join and sort every match. ``edges`` holds
    the sort keys of the first and last row of the last slice read (the page's cursors)."""

    ordered = True  # for the paginator's check (the order is the sorted queryset's)

    def __init__(self, sorted_qs: QuerySet[Case], base: QuerySet[Case],
                 sort: str = DEFAULT_SORT) -> None:
        self.sorted_qs = sorted_qs
        self.base = base
        self.sort = sort
        self.keys = SORT_KEYS[sort]
        self.edges: tuple[tuple, tuple] | None = None

    def __len__(self) -> int:  # the desk's paginator counts ``sorted_qs`` capped; a fallback
        return self.sorted_qs.count()

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        return self.rows(list(self.sorted_qs.values_list(*key_fields(self.keys))[index]))

    def rows(self, keyed: list[tuple]) -> list:
        """The rows of these (sort key..., id) tuples, in their order; remembers the edges."""
        self.edges = (keyed[0], keyed[-1]) if keyed else None
        return rows_in_order(self.base, [values[-1] for values in keyed])


def key_fields(keys: tuple[SortKey, ...]) -> list[str]:
    return [key.field for key in keys]


def rows_in_order(base: QuerySet, ids: list[int]) -> list:
    """The rows of ``base`` with these ids, in the order of ``ids`` (a page's ids were found
    by an index-only read; its rows are then read by primary key)."""
    if not ids:
        return []
    by_id = {row.pk: row for row in base.filter(pk__in=ids).order_by()}
    return [by_id[pk] for pk in ids if pk in by_id]


def label_rows(cases: list[Case]) -> list[Case]:
    """Give each listed case its tier, stage, channel and category labels, read from one dict
    per field (``get_FOO_display`` rebuilds a choices dict on every call, 100 times a page)."""
    maps = {
        name: {value: str(label) for value, label in Case._meta.get_field(name).flatchoices}
        for name in ("tier", "stage", "channel", "category")
    }
    for case in cases:
        for name, labels in maps.items():
            value = getattr(case, name)
            setattr(case, f"{name}_label", labels.get(value, value))
    return cases


def agents() -> QuerySet[User]:
    """Active agents (frontline, senior, supervisors) for owner/handler choices."""
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR]
        )
        .distinct()
        .order_by("display_name", "username")
    )
