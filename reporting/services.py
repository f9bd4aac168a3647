"""Write side of reporting: building the weekly review snapshot and keeping improvement
actions. Every caller (beat task, supervisor's button, admin) goes through these."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, User
from cases.services.errors import ActionForbidden, InvalidInput
from reporting import kpis as K
from reporting import selectors
from reporting.models import ActionStatus, ImprovementAction, WeeklyReview
from reporting.periods import local_midnight, report_tz, today_local, week_start
from reporting.permissions import can_manage_reviews

SNAPSHOT_VERSION = 1
TOP_N = 10


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


def review_snapshot(week: date, now: datetime) -> dict[str, Any]:
    """Everything the review shows, as plain JSON: KPI values with their numerators,
    denominators, targets and last week's values; volumes; overdue and breached cases;
    top categories and root causes; the actions open at build time. Labels are stored as
    codes (translated when shown), except department and root-cause names, which are
    copied so that renaming them later does not change history."""
    period = selectors.period_of_week(week)
    cur, prev = period.window(now), period.previous_window(now)
    case_rows = K.case_rows(cur, selectors.CASE_DIMS)
    request_rows = K.request_rows(cur, selectors.REQUEST_DIMS)
    sums = {**K.rollup(case_rows).get(None, {}), **K.rollup(request_rows).get(None, {})}
    previous = {**K.case_rows(prev)[0], **K.request_rows(prev)[0]}
    lines = selectors.kpi_lines(sums, previous, selectors.kpi_targets())
    tables = selectors.breakdowns(K.sums_by_dimension(case_rows, request_rows))
    overdue_total, overdue = selectors.overdue_cases(now)
    breached_total, per_clock, breached = selectors.breached_cases(cur)
    categories = sorted((r for r in tables["category"] if r.volume), key=lambda r: -r.volume)
    volume = sums.get("received") or 0
    open_actions = (
        ImprovementAction.objects.filter(status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS],
                                         review__week_start__lte=week)
        .select_related("owner").order_by("due_date", "pk")
    )
    return {
        "version": SNAPSHOT_VERSION,
        "week_start": week.isoformat(),
        "week_end": (week + timedelta(days=6)).isoformat(),
        "built_at": now.isoformat(),
        "volume": volume,
        "previous_volume": previous.get("received") or 0,
        "kpis": [
            {"code": line.kpi.code, "value": _dec(line.value), "previous": _dec(line.previous),
             "target": _dec(line.target), "direction": line.kpi.direction,
             "status": line.status, "numerator": line.numerator_display,
             "denominator": line.denominator}
            for line in lines
        ],
        "volumes": {
            dim: [{"key": r.key, "label": r.label, "count": r.volume} for r in rows]
            for dim, rows in tables.items()
        },
        "top_categories": [
            {"key": r.key, "count": r.volume,
             "share": _dec(round(r.volume * 100 / volume, 1)) if volume else None}
            for r in categories[:TOP_N]
        ],
        "root_causes": [
            {"code": r["code"], "label": r["label"], "count": r["count"],
             "previous": r["previous"], "share": _dec(r["share"])}
            for r in selectors.root_cause_top(cur, prev, limit=TOP_N)
        ],
        "overdue": {"total": overdue_total, "cases": overdue},
        "breached": {"total": breached_total, "per_clock": per_clock, "cases": breached},
        "open_actions": [
            {"id": a.pk, "action": a.action, "owner": str(a.owner), "due_date":
             a.due_date.isoformat(), "status": a.status, "overdue": a.due_date < today_local(now)}
            for a in open_actions
        ],
    }


def weekly_review_build(*, week: date, actor: User | None = None,
                        now: datetime | None = None) -> tuple[WeeklyReview, bool]:
    """Build and store the review of the local week starting ``week`` (a Monday).

    Idempotent: if the week already has a review, it is returned unchanged (a snapshot is
    never rewritten), also when two builds race (the unique week decides). Refuses a week
    that has not ended yet, since its snapshot would freeze half a week. ``actor`` None is
    the Monday beat task; a person must be a supervisor or admin. Returns (review, created).
    """
    now = now or timezone.now()
    if actor is not None and not can_manage_reviews(actor):
        raise ActionForbidden(_("Only supervisors and admins build weekly reviews."))
    if week.weekday() != 0:
        raise InvalidInput(_("A weekly review starts on a Monday."), field="week")
    end = local_midnight(week + timedelta(weeks=1))
    if end > now:
        raise InvalidInput(_("This week has not ended yet."), field="week")
    existing = WeeklyReview.objects.filter(week_start=week).first()
    if existing is not None:
        return existing, False
    with K.aggregate_session():
        data = review_snapshot(week, now)
    try:
        with transaction.atomic():
            review = WeeklyReview.objects.create(
                week_start=week, period_start=local_midnight(week), period_end=end,
                time_zone=str(report_tz()), built_at=now, built_by=actor, data=data,
            )
    except IntegrityError:
        return WeeklyReview.objects.get(week_start=week), False
    return review, True


def previous_week(now: datetime) -> date:
    """The Monday of the last complete local week before ``now``."""
    return week_start(today_local(now)) - timedelta(weeks=1)


# --- improvement actions -----------------------------------------------------------------------
def _clean_action(action: str, owner: User | None, due_date: date | None, status: str) -> str:
    text = (action or "").strip()
    if not text:
        raise InvalidInput(_("Describe the action."), field="action")
    if owner is None or not owner.is_active:
        raise InvalidInput(_("Choose an active owner."), field="owner")
    if due_date is None:
        raise InvalidInput(_("Give a due date."), field="due_date")
    if status not in ActionStatus.values:
        raise InvalidInput(_("Unknown status."), field="status")
    return text


@transaction.atomic
def improvement_action_create(
    *, actor: User, review: WeeklyReview, action: str, owner: User, due_date: date,
    cases: list[Case] | None = None, status: str = ActionStatus.OPEN, progress_note: str = "",
) -> ImprovementAction:
    """A supervisor (or admin) records an action agreed in the review."""
    if not can_manage_reviews(actor):
        raise ActionForbidden(_("Only supervisors and admins add improvement actions."))
    text = _clean_action(action, owner, due_date, status)
    item = ImprovementAction.objects.create(
        review=review, action=text, owner=owner, due_date=due_date, status=status,
        progress_note=(progress_note or "").strip(), created_by=actor,
        completed_at=timezone.now() if status == ActionStatus.DONE else None,
    )
    if cases:
        item.cases.set(cases)
    return item


@transaction.atomic
def improvement_action_update(
    *, actor: User, action_id: int, action: str, owner: User, due_date: date, status: str,
    progress_note: str = "", cases: list[Case] | None = None,
) -> ImprovementAction:
    """Follow an action up: change its text, owner, due date, status, note and cases."""
    if not can_manage_reviews(actor):
        raise ActionForbidden(_("Only supervisors and admins change improvement actions."))
    item = ImprovementAction.objects.select_for_update().get(pk=action_id)
    item.action = _clean_action(action, owner, due_date, status)
    item.owner, item.due_date = owner, due_date
    item.progress_note = (progress_note or "").strip()
    if status == ActionStatus.DONE and item.status != ActionStatus.DONE:
        item.completed_at = timezone.now()
    elif status != ActionStatus.DONE:
        item.completed_at = None
    item.status = status
    item.save()
    if cases is not None:
        item.cases.set(cases)
    return item
