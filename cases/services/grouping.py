"""Duplicate and group-complaint detection at intake."""

from __future__ import annotations

from datetime import timedelta

from cases.choices import OPEN_STAGES, Scope
from cases.models import Case, ComplaintGroup, DeskSettings


def matter_key(case: Case) -> str:
    """The 'same matter': category plus the order/product reference, else the location."""
    matter = (case.order_ref or case.location).strip().lower()
    return f"{case.category}:{matter}" if matter else ""


def link_related(case: Case) -> None:
    """Link a new case to the customer's open case on the same matter within the duplicate
    window, and flag a group complaint when enough cases on one matter arrive within the
    group window (raising the impact scope and the suggested tier of every case in it)."""
    settings_row = DeskSettings.get()
    key = matter_key(case)
    if not key:
        return
    dup_since = case.received_at - timedelta(hours=settings_row.duplicate_window_hours)
    duplicate = (
        Case.objects.filter(
            customer_id=case.customer_id, category=case.category, stage__in=OPEN_STAGES,
            received_at__gte=dup_since, duplicate_of__isnull=True,
        )
        .exclude(pk=case.pk)
        .filter(order_ref=case.order_ref, location=case.location)
        .order_by("received_at")
        .first()
    )
    if duplicate is not None:
        case.duplicate_of = duplicate
    _update_group(case, key, settings_row)


def _update_group(case: Case, key: str, settings_row: DeskSettings) -> None:
    since = case.received_at - timedelta(hours=settings_row.group_window_hours)
    matter = (case.order_ref or case.location).strip()
    same_matter = Case.objects.filter(
        category=case.category, received_at__gte=since, duplicate_of__isnull=True,
    ).filter(order_ref=case.order_ref, location=case.location)
    group = ComplaintGroup.objects.filter(key=key, last_received_at__gte=since).first()
    if group is None:
        # Distinct customers only: one person's repeats are duplicates, not a group.
        customers = same_matter.values("customer_id").distinct().count()
        if customers < settings_row.group_threshold:
            return
        group = ComplaintGroup.objects.create(
            key=key, category=case.category, matter=matter[:150],
            first_received_at=case.received_at, last_received_at=case.received_at,
        )
        same_matter.exclude(pk=case.pk).update(group=group, scope=Scope.GROUP)
        _raise_suggested(same_matter.exclude(pk=case.pk))
    case.group = group
    case.scope = Scope.GROUP
    if case.suggested_tier > 2:
        case.suggested_tier = 2
    group.last_received_at = max(group.last_received_at, case.received_at)
    group.case_count = Case.objects.filter(group=group).exclude(pk=case.pk).count() + 1
    group.save(update_fields=["last_received_at", "case_count"])


def _raise_suggested(qs: object) -> None:
    qs.filter(suggested_tier__gt=2).update(suggested_tier=2)  # type: ignore[attr-defined]
