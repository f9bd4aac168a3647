"""Duplicate and group-complaint detection at intake.

Detection runs *before* the new case is inserted, with one read of the recent cases on the
same matter. The plan it returns is applied by ``case_intake`` (``apply_links`` on the
unsaved case; ``create_group`` and ``apply_after_insert`` in the transaction that writes
it, which holds the matter's lock from before the read: see
``cases.services.intake.intake_lock_keys``).

- Duplicate: the same customer, the same category and the same matter (order/product
  reference, else location, else the same subject) within ``duplicate_window_hours``, while
  the earlier case is still open: the new case is linked to it (``duplicate_of``).
- Group complaint 群体性投诉: at least ``group_threshold`` distinct customers complain about
  the same matter (category + order/product reference or location) within
  ``group_window_hours``. Every case in the window joins one ComplaintGroup, its impact scope
  becomes "group" and its suggested tier is raised to at least tier 2; later cases on the
  matter join the group while it is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case as DbCase
from django.db.models import F, Q, Value, When
from django.db.models.functions import Greatest, Upper

from cases.choices import OPEN_STAGES, Scope, Tier
from cases.models import Case, ComplaintGroup, DeskSettings, SlaPolicy
from cases.services import clocks
from cases.services.audit import AuditAction, AuditRecordData, audit_record_many

# A matter with more recent cases than this is a group already; reading more changes nothing.
_MAX_MATTER_ROWS = 500
_MATTER_COLUMNS = ("pk", "customer_id", "stage", "received_at", "duplicate_of_id", "group_id",
                   "reference", "suggested_tier", "tier")


def matter_key(category: str, order_ref: str, location: str) -> str:
    """The 'same matter': category plus the order/product reference, else the location."""
    matter = (order_ref or location).strip().lower()
    return f"{category}:{matter}" if matter else ""


def _matter_filter(order_ref: str, location: str) -> Q | None:
    """The cases on the same matter: the order/product reference in any letter case (the
    index on UPPER(order_ref) serves it), else the location of cases without a reference;
    None when the complaint names no matter at all."""
    if order_ref:
        return Q(order_ref__iexact=order_ref)
    if location:
        return Q(order_ref="", location__iexact=location)
    return None


@dataclass(frozen=True)
class GroupMember:
    """A recent case a new group pulls in, as the matter read saw it."""

    pk: int
    received_at: datetime
    suggested_tier: int
    tier: int


@dataclass
class RelatedPlan:
    """What intake does about related cases (computed before the case exists)."""

    duplicate_of_id: int | None = None
    duplicate_reference: str | None = None  # the earlier case's reference (for the answer)
    group_id: int | None = None  # an active group the new case joins
    # The recent cases a new group pulls in (as the matter read saw them).
    members: list[GroupMember] = field(default_factory=list)
    key: str = ""
    matter: str = ""

    @property
    def in_group(self) -> bool:
        return self.group_id is not None or bool(self.members)


def _windows(settings_row: DeskSettings) -> tuple[timedelta, timedelta, timedelta]:
    dup_window = timedelta(hours=settings_row.duplicate_window_hours)
    group_window = timedelta(hours=settings_row.group_window_hours)
    return dup_window, group_window, max(dup_window, group_window)


def matter_bucket(category: str, order_ref: str, location: str) -> tuple[str, str, str] | None:
    """The key of a complaint's matter in ``recent_by_matter``'s answer (None: no matter)."""
    if order_ref:
        return (category, order_ref.upper(), "")
    if location:
        return (category, "", location.upper())
    return None


def recent_by_matter(
    complaints: list[tuple[str, str, str, datetime]], settings_row: DeskSettings,
    *, max_span: timedelta = timedelta(days=31), max_rows: int = 50_000,
) -> dict[tuple[str, str, str], list[tuple]] | None:
    """The recent cases on the matters of many complaints (category, order_ref, location,
    received_at) in at most two reads (on the order and location indexes), by
    ``matter_bucket``, newest first; ``recent_for`` cuts one complaint's out of it. None
    (read per complaint instead) when the complaints span more than ``max_span`` or the
    matters hold more than ``max_rows`` cases in it."""
    keyed = [(matter_bucket(c, o, loc), at) for c, o, loc, at in complaints]
    keyed = [(key, at) for key, at in keyed if key is not None]
    if not keyed:
        return {}
    first, last = min(at for _k, at in keyed), max(at for _k, at in keyed)
    if last - first > max_span:
        return None
    _dup, group_window, widest = _windows(settings_row)
    found: dict[tuple[str, str, str], list[tuple]] = {key: [] for key, _at in keyed}
    span = {"received_at__range": (first - widest, last + group_window),
            "category__in": {key[0] for key, _at in keyed}}
    for column, position in (("order_ref", 1), ("location", 2)):
        values = {key[position] for key, _at in keyed if key[position]}
        if not values:
            continue
        rows = list(
            Case.objects.annotate(matter_upper=Upper(column))
            .filter(matter_upper__in=values, **span, **({} if position == 1 else
                                                        {"order_ref": ""}))
            .order_by("-received_at")
            .values_list(*_MATTER_COLUMNS, "category", "matter_upper")[:max_rows + 1])
        if len(rows) > max_rows:
            return None
        for row in rows:
            key = (row[-2], row[-1], "") if position == 1 else (row[-2], "", row[-1])
            if key in found:
                found[key].append(row[:-2])
    return found


def recent_for(rows: list[tuple], received_at: datetime, settings_row: DeskSettings,
               ) -> list[tuple]:
    """One complaint's share of ``recent_by_matter``: what ``detect_related`` would read."""
    _dup, group_window, widest = _windows(settings_row)
    since, until = received_at - widest, received_at + group_window
    return [r for r in rows if since <= r[3] <= until][:_MAX_MATTER_ROWS]


def detect_related(
    *, customer_id: int, customer_is_new: bool, category: str, order_ref: str, location: str,
    subject: str, received_at: datetime, settings_row: DeskSettings,
    recent: list[tuple] | None = None,
) -> RelatedPlan:
    """One query at most. A brand-new customer cannot have a duplicate. ``recent``: the
    matter's recent cases when the caller read them for many complaints at once
    (``recent_by_matter`` and ``recent_for``)."""
    key = matter_key(category, order_ref, location)
    plan = RelatedPlan(key=key, matter=(order_ref or location).strip()[:150])
    dup_window = timedelta(hours=settings_row.duplicate_window_hours)
    group_window = timedelta(hours=settings_row.group_window_hours)
    matter = _matter_filter(order_ref, location)
    if matter is None:
        if not customer_is_new:
            earlier = (
                Case.objects.filter(
                    customer_id=customer_id, category=category, order_ref="", location="",
                    subject__iexact=subject, stage__in=OPEN_STAGES, duplicate_of__isnull=True,
                    received_at__range=(received_at - dup_window, received_at),
                )
                .order_by("received_at")
                .values_list("pk", "reference")
                .first()
            )
            if earlier is not None:
                plan.duplicate_of_id, plan.duplicate_reference = earlier
        return plan

    if recent is None:
        widest = max(dup_window, group_window)
        since, until = received_at - widest, received_at + group_window
        recent = list(
            Case.objects.filter(matter, category=category, received_at__range=(since, until))
            .order_by("-received_at")
            .values_list(*_MATTER_COLUMNS)[:_MAX_MATTER_ROWS]
        )
    for pk, cust, stage, at, dup_of, _group, reference, *_tiers in sorted(recent,
                                                                           key=lambda r: r[3]):
        if (
            not customer_is_new and cust == customer_id and stage in OPEN_STAGES
            and dup_of is None and received_at - dup_window <= at <= received_at
        ):
            plan.duplicate_of_id, plan.duplicate_reference = pk, reference
            break
    in_window = [r for r in recent if abs(received_at - r[3]) <= group_window and r[4] is None]
    existing = next((r[5] for r in in_window if r[5] is not None), None)
    if existing is None:
        existing = next((r[5] for r in recent if r[5] is not None and r[0] ==
                         plan.duplicate_of_id), None)
    if existing is not None:
        plan.group_id = existing
        return plan
    if plan.duplicate_of_id is not None:
        return plan  # one person's repeat is a duplicate, not another voice in a group
    customers = {r[1] for r in in_window} | {customer_id}
    if len(customers) >= settings_row.group_threshold:
        plan.members = [GroupMember(r[0], r[3], r[7], r[8]) for r in in_window]
    return plan


def group_scope_tier(suggested: int) -> int:
    """A group complaint is at least tier 2 (an emergency stays tier 1)."""
    return min(suggested, int(Tier.IMPORTANT))


def apply_links(plan: RelatedPlan, case: Case) -> None:
    """Set the links on the unsaved case (before its clocks are timed: a group complaint is
    at least tier 2)."""
    case.duplicate_of_id = plan.duplicate_of_id
    if not plan.in_group:
        return
    case.scope = Scope.GROUP
    case.suggested_tier = group_scope_tier(case.suggested_tier)
    if plan.group_id is not None:
        case.group_id = plan.group_id


def create_group(plan: RelatedPlan, case: Case) -> ComplaintGroup | None:
    """Create the group when this case completes one (with its final count and first time:
    the members are known from the matter read) and put the unsaved case in it."""
    if not plan.members:
        return None
    group = ComplaintGroup.objects.create(
        key=plan.key, category=case.category, matter=plan.matter,
        first_received_at=min([case.received_at, *(m.received_at for m in plan.members)]),
        last_received_at=case.received_at, case_count=len(plan.members) + 1,
    )
    case.group = group
    return group


def apply_after_insert(plan: RelatedPlan, case: Case, new_group: ComplaintGroup | None,
                       policies: dict[int, SlaPolicy] | None = None) -> None:
    """Count the saved case into the active group it joins, or pull the matter's recent
    cases into the group it formed (``create_group``). ``policies``: the SLA policies by
    tier, when the caller read them already."""
    if plan.group_id is not None:
        ComplaintGroup.objects.filter(pk=plan.group_id).update(
            case_count=F("case_count") + 1,
            last_received_at=Greatest(F("last_received_at"), case.received_at),
        )
        return
    if new_group is None:
        return
    raised = [m.pk for m in plan.members if m.suggested_tier > Tier.IMPORTANT]
    raise_tier = {"suggested_tier": DbCase(
        When(pk__in=raised, then=Value(Tier.IMPORTANT)), default=F("suggested_tier"),
        output_field=Case._meta.get_field("suggested_tier"))} if raised else {}
    Case.objects.filter(pk__in=[m.pk for m in plan.members]).update(
        group=new_group, scope=Scope.GROUP, **raise_tier)
    # The members had no group (else the new case would have joined it).
    audit_record_many([AuditRecordData(
        action=AuditAction.CHANGE, target_type="cases.Case", target_id=str(m.pk), case_id=m.pk,
        changes={"group": (None, new_group.pk), "scope": (None, Scope.GROUP),
                 **({"suggested_tier": (m.suggested_tier, Tier.IMPORTANT)}
                    if m.pk in raised else {})},
    ) for m in plan.members])
    untriaged = [m.pk for m in plan.members
                 if m.suggested_tier > Tier.IMPORTANT and m.tier == Tier.UNTRIAGED]
    if untriaged:
        # Untriaged cases run on their suggested tier's clocks: give them the tighter ones,
        # all in three statements however many cases the group pulls in.
        clocks.retime_and_save_many(
            list(Case.objects.filter(pk__in=untriaged, tier=Tier.UNTRIAGED)),
            policies=policies)
