"""Read side of reporting: the dashboard, top root causes, overdue and breached cases for the
weekly review. Every number comes from aggregate queries (``reporting.kpis``); Python only
sums the grouped rows and attaches labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cases.choices import OPEN_STAGES, Category, ChannelKind, Clock, SlaState, Stage, Tier
from cases.models import Case, CaseDeadline, Department, RootCause
from reporting import kpis as K
from reporting import summaries
from reporting.choices import Direction
from reporting.models import ImprovementAction, KpiTarget, WeeklyReview
from reporting.periods import Period, report_tz

CASE_DIMS = ["tier", "channel", "category", "department_id"]
REQUEST_DIMS = ["department_id", "case__tier", "case__channel", "case__category"]


def localized_name(obj: Any) -> str:
    """Department and root-cause names: the English name for English readers when set."""
    english = getattr(obj, "name_en", "")
    if english and (get_language() or "").startswith("en"):
        return english
    return obj.name


# --- targets and statuses ----------------------------------------------------------------------
def kpi_targets() -> dict[str, KpiTarget]:
    """Targets by KPI code; a KPI without a row (deleted by an admin) uses SPEC's default."""
    rows = {t.code: t for t in KpiTarget.objects.all()}
    for kpi in K.KPIS:
        rows.setdefault(kpi.code, KpiTarget(code=kpi.code, direction=kpi.direction,
                                            target=kpi.default_target))
    return rows


def kpi_status(kpi: K.Kpi, value: Decimal | None, target: Decimal | None,
               previous: Decimal | None) -> str:
    """"met", "missed" or "none" (not enough data to judge)."""
    if value is None:
        return "none"
    if kpi.direction == Direction.FALLING:
        if previous is None:
            return "none"
        return "met" if value < previous or value == previous == 0 else "missed"
    if target is None:
        return "none"
    if kpi.direction == Direction.AT_MOST:
        return "met" if value <= target else "missed"
    return "met" if value >= target else "missed"


@dataclass
class KpiLine:
    """One KPI on the dashboard: its value, the previous period's, target and status."""

    kpi: K.Kpi
    value: Decimal | None
    previous: Decimal | None
    target: Decimal | None
    numerator: Any
    denominator: int
    status: str

    @property
    def change(self) -> Decimal | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def improved(self) -> bool | None:
        change = self.change
        if change is None or change == 0:
            return None
        return (change < 0) if self.kpi.lower_is_better else (change > 0)

    @property
    def numerator_display(self) -> str:
        if self.kpi.unit == K.HOURS:
            hours = (self.numerator.total_seconds() / 3600) if self.numerator else 0
            return f"{hours:.1f}"
        return str(self.numerator or 0)


def kpi_lines(sums: dict[str, Any], previous: dict[str, Any],
              targets: dict[str, KpiTarget]) -> list[KpiLine]:
    """One line per KPI from the period's and the previous period's sums. No query."""
    lines = []
    for kpi in K.KPIS:
        value, prev = K.kpi_value(kpi, sums), K.kpi_value(kpi, previous)
        target = targets[kpi.code].target
        lines.append(KpiLine(
            kpi=kpi, value=value, previous=prev, target=target,
            numerator=sums.get(K.num_key(kpi.code)), denominator=sums.get(
                K.den_key(kpi.code)) or 0,
            status=kpi_status(kpi, value, target, prev),
        ))
    return lines


# --- breakdowns --------------------------------------------------------------------------------
@dataclass
class BreakdownRow:
    """One value of a breakdown dimension: its label, volume and every KPI's value."""

    key: Any
    label: str
    volume: int
    values: list[Decimal | None]

    @property
    def cells(self) -> list[tuple[Decimal | None, str]]:
        return [(v, k.unit) for v, k in zip(self.values, K.KPIS, strict=True)]


@dataclass
class Dashboard:
    """Everything the dashboard page shows for one period."""

    period: Period
    lines: list[KpiLine]
    volume: int
    previous_volume: int
    breakdowns: dict[str, list[BreakdownRow]]
    weeks: list[dict[str, Any]]
    root_causes: list[dict[str, Any]]
    charts: dict[str, Any] = field(default_factory=dict)


def _labels(dim: str, keys: set[Any]) -> dict[Any, str]:
    if dim == "tier":
        return {k: str(Tier(k).label) if k in Tier.values else str(k) for k in keys}
    if dim == "channel":
        return {k: str(ChannelKind(k).label) if k in ChannelKind.values else str(k) for k in keys}
    if dim == "category":
        return {k: str(Category(k).label) if k in Category.values else str(k) for k in keys}
    ids = [k for k in keys if k is not None]
    names = {d.pk: localized_name(d) for d in Department.objects.filter(pk__in=ids)}
    return {k: names.get(k, _("No department")) if k is not None else _("No department")
            for k in keys}


def _order(dim: str, keys: list[Any]) -> list[Any]:
    if dim == "tier":
        return sorted(keys)
    choices = {"channel": ChannelKind.values, "category": Category.values}.get(dim)
    if choices:
        return sorted(keys, key=lambda k: choices.index(k) if k in choices else 99)
    return sorted(keys, key=lambda k: (k is None, k or 0))


def breakdowns(by_dim: dict[str, dict[Any, dict[str, Any]]]) -> dict[str, list[BreakdownRow]]:
    """One table per dimension: each value's volume and KPIs (``K.sums_by_dimension`` or
    the day sums' ``by_dimension``)."""
    out: dict[str, list[BreakdownRow]] = {}
    for dim in K.DIMENSIONS:
        sums_of = by_dim.get(dim, {})
        labels = _labels(dim, set(sums_of))
        rows = []
        for key in _order(dim, list(sums_of)):
            sums = sums_of[key]
            values = K.kpi_values(sums)
            rows.append(BreakdownRow(key=key, label=labels[key],
                                     volume=sums.get("received") or 0,
                                     values=[values[k.code] for k in K.KPIS]))
        out[dim] = rows
    return out


def daily_sums(window: K.Window) -> dict[date, dict[str, Any]]:
    """KPI sums per local day of ``window`` (two aggregate queries, one pass each)."""
    return K.day_sums(window, report_tz())


def weekly_trend(window: K.Window, days: dict[date, dict[str, Any]] | None = None,
                 ) -> list[dict[str, Any]]:
    """One row per local week of ``window`` (whole weeks): the week's received volume and
    every KPI, each KPI's sums taken from the days of its own anchor time."""
    tz = report_tz()
    if days is None:
        days = daily_sums(window)
    first = window.start.astimezone(tz).date()
    last = window.end.astimezone(tz).date()
    weeks = []
    day = first
    while day < last:
        sums = K.sum_days(days, day, day + timedelta(days=6))
        values = K.kpi_values(sums)
        weeks.append({"week": day, "volume": sums.get("received") or 0, "values": values,
                      "cells": [(values[k.code], k.unit) for k in K.KPIS]})
        day += timedelta(weeks=1)
    return weeks


def root_cause_counts(window: K.Window, previous: K.Window | None = None,
                      summed: bool = False) -> list[dict[str, Any]]:
    """Cases resolved per root cause in ``window`` and in ``previous``: one aggregate query
    (over the day sums when ``summed``: the caller brought them up to date with
    ``summaries.catch_up``, as the pages do; else over the cases, which a caller in a read
    snapshot (the weekly review) must use: catching up writes)."""
    cur_days, prev_days = summaries.day_span(window), previous and summaries.day_span(previous)
    if summed and cur_days and (previous is None or prev_days):
        return summaries.root_cause_counts(*cur_days, prev_days[0] if prev_days else None)
    span_start = previous.start if previous else window.start
    in_cur = Q(resolved_at__gte=window.start, resolved_at__lt=window.end)
    return list(
        K.case_base()
        .filter(resolved_at__gte=span_start, resolved_at__lt=window.end,
                root_cause__isnull=False)
        .values("root_cause_id")
        .annotate(
            count=Count("pk", filter=in_cur),
            previous=Count("pk", filter=~in_cur),
        )
        .order_by()
    )


def root_cause_top(window: K.Window, previous: K.Window | None = None,
                   limit: int | None = None, summed: bool = False) -> list[dict[str, Any]]:
    """Root causes of the cases resolved in ``window`` (and in ``previous``), most frequent
    first."""
    rows = [r for r in root_cause_counts(window, previous, summed)
            if r["count"] or r["previous"]]
    total = sum(r["count"] for r in rows)
    causes = RootCause.objects.in_bulk([r["root_cause_id"] for r in rows])
    out = []
    for r in sorted(rows, key=lambda r: (-r["count"], -r["previous"], r["root_cause_id"])):
        cause = causes.get(r["root_cause_id"])
        out.append({
            "id": r["root_cause_id"], "code": cause.code if cause else "",
            "label": localized_name(cause) if cause else "?",
            "count": r["count"], "previous": r["previous"] if previous else None,
            "share": (Decimal(r["count"] * 100) / total).quantize(Decimal("0.1"))
            if total else None,
        })
    return out[:limit] if limit else out


def root_cause_report(window: K.Window, previous: K.Window,
                      ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The root-cause page: the ranking against the previous period, and cause x category."""
    summed = summaries.catch_up(window.now)
    return (root_cause_top(window, previous, summed=summed),
            root_cause_by_category(window, summed=summed))


def _period_sums(cur: K.Window, span: K.Window, summed: bool,
                 ) -> tuple[dict[str, dict[Any, dict[str, Any]]], dict[date, dict[str, Any]]]:
    """KPI sums of ``cur`` per dimension and value, and per local day of ``span``: from the
    day sums when they are current (two small queries), else aggregated over the cases and
    requests (four scans)."""
    cur_days, span_days = summaries.day_span(cur), summaries.day_span(span)
    if summed and cur_days and span_days:
        return summaries.by_dimension(*cur_days), summaries.by_day(*span_days)
    by_dim = K.sums_by_dimension(K.case_rows(cur, CASE_DIMS),
                                 K.request_rows(cur, REQUEST_DIMS))
    return by_dim, daily_sums(span)


def dashboard(period: Period, now: datetime) -> Dashboard:
    """Everything the dashboard shows for ``period``: a handful of queries on the day sums
    (``reporting.summaries``, cases and collaboration requests alike), whatever the number of
    cases. The sums are brought up to date first; while they cannot be (a long backlog) the
    same numbers come from aggregates over the cases and requests."""
    cur, prev = period.window(now), period.previous_window(now)
    trend = period.trend_window(now)
    # One pass over the days of the previous period, the trend weeks and the period gives
    # the previous totals and the trend; breakdowns come from the period's rows.
    span = K.Window(min(prev.start, trend.start), max(cur.end, trend.end), now)
    summed = summaries.catch_up(now)
    with K.aggregate_session():
        by_dim, days = _period_sums(cur, span, summed)
        causes = root_cause_top(cur, prev, limit=10, summed=summed)
    previous = K.sum_days(days, period.previous_first, period.previous_last)
    weeks = weekly_trend(trend, days)
    # Every case and request has exactly one tier: the tier rows add up to the totals.
    sums = K.rollup(by_dim["tier"].values()).get(None, {})
    lines = kpi_lines(sums, previous, kpi_targets())
    board = Dashboard(
        period=period, lines=lines, volume=sums.get("received") or 0,
        previous_volume=previous.get("received") or 0,
        breakdowns=breakdowns(by_dim), weeks=weeks, root_causes=causes,
    )
    board.charts = chart_data(board)
    return board


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def chart_data(board: Dashboard) -> dict[str, Any]:
    """The numbers the charts draw (the same numbers are in the tables beside them)."""
    percent = [k for k in K.KPIS if k.unit == K.PERCENT]
    index = {k.code: i for i, k in enumerate(K.KPIS)}
    return {
        "trend": {
            "labels": [w["week"].isoformat() for w in board.weeks],
            "volume": [w["volume"] for w in board.weeks],
            "volume_label": _("Cases received"),
            "series": [
                {"code": k.code, "label": str(k.label),
                 "data": [_num(w["values"][k.code]) for w in board.weeks],
                 "hidden": k.code not in ("first_response", "handling_complete", "satisfaction")}
                for k in percent
            ],
            "targets": {line.kpi.code: _num(line.target) for line in board.lines},
        },
        "volumes": {
            dim: {"labels": [r.label for r in rows], "data": [r.volume for r in rows],
                  "label": _("Cases received")}
            for dim, rows in board.breakdowns.items()
        },
        "root_causes": {
            "labels": [r["label"] for r in board.root_causes],
            "data": [r["count"] for r in board.root_causes],
            "label": _("Cases resolved"),
        },
        "kpi_index": index,
    }


# --- weekly review: cases to discuss -----------------------------------------------------------
def overdue_cases(now: datetime, limit: int = 200) -> tuple[int, list[dict[str, Any]]]:
    """Open cases with a running deadline past its due time at ``now``, longest overdue
    first: (total, first ``limit`` rows)."""
    overdue = Q(deadlines__stopped_at__isnull=True, deadlines__due_at__lte=now)
    qs = (
        Case.objects.filter(stage__in=OPEN_STAGES).filter(overdue)
        .annotate(overdue_since=Min("deadlines__due_at", filter=overdue))
        .order_by("overdue_since", "pk")
    )
    total = qs.values("pk").distinct().count()
    rows = list(qs.select_related("owner", "department")[:limit])
    clocks = _clocks_by_case(
        CaseDeadline.objects.filter(case__in=[c.pk for c in rows], stopped_at__isnull=True,
                                    due_at__lte=now)
    )
    return total, [_case_row(c, clocks.get(c.pk, []), since=c.overdue_since) for c in rows]


def breached_cases(window: K.Window, limit: int = 200) -> tuple[int, dict[str, int],
                                                                list[dict[str, Any]]]:
    """Cases (not invalid) with a deadline that breached during ``window``: a breach recorded
    then, or a running clock that fell due then without a sweep noticing yet. Returns the
    number of cases, breaches per clock, and the first ``limit`` cases."""
    breach = Q(breached_at__gte=window.start, breached_at__lt=window.end) | Q(
        stopped_at__isnull=True, due_at__gte=window.start, due_at__lt=window.end,
        due_at__lte=window.now,
    ) & ~Q(state=SlaState.BREACHED)
    deadlines = CaseDeadline.objects.filter(breach).exclude(case__stage=Stage.INVALID)
    per_clock = {
        r["clock"]: r["n"] for r in deadlines.values("clock").annotate(n=Count("pk")).order_by()
    }
    total = deadlines.values("case_id").distinct().count()
    case_ids = list(
        deadlines.values("case_id").annotate(first=Min("due_at")).order_by("first", "case_id")
        .values_list("case_id", flat=True)[:limit]
    )
    cases = Case.objects.select_related("owner", "department").in_bulk(case_ids)
    clocks = _clocks_by_case(deadlines.filter(case_id__in=case_ids))
    return total, per_clock, [
        _case_row(cases[pk], clocks.get(pk, [])) for pk in case_ids if pk in cases
    ]


def _clocks_by_case(deadlines: Any) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for case_id, clock in deadlines.values_list("case_id", "clock").order_by("due_at"):
        if clock not in out.setdefault(case_id, []):
            out[case_id].append(clock)
    return out


def _case_row(case: Case, clocks: list[str], since: datetime | None = None) -> dict[str, Any]:
    return {
        "id": case.pk, "reference": case.reference, "subject": case.subject,
        "tier": case.tier, "stage": case.stage, "category": case.category,
        "owner": str(case.owner) if case.owner_id else "",
        "department": case.department.name if case.department_id else "",
        "clocks": clocks, "overdue_since": since.isoformat() if since else None,
    }


def clock_label(code: str) -> str:
    return str(Clock(code).label) if code in Clock.values else code


# --- lists -------------------------------------------------------------------------------------
def exportable_cases(user: Any) -> Any:
    """The cases a user's export may contain: what their desk shows them, and every case
    for an admin (who sees all of them in the Django admin anyway)."""
    from reporting.permissions import is_admin

    return Case.objects.all() if is_admin(user) else Case.objects.for_user(user)


def review_list() -> Any:
    """The weekly reviews, newest first, with their action and open-action counts."""
    return WeeklyReview.objects.select_related("built_by").annotate(
        action_count=Count("actions"),
        open_action_count=Count("actions", filter=Q(actions__status__in=["open",
                                                                          "in_progress"])),
    ).order_by("-week_start")


def review_actions(review: WeeklyReview) -> Any:
    """The review's improvement actions with owner, author and linked cases loaded."""
    return (
        ImprovementAction.objects.filter(review=review)
        .select_related("owner", "created_by")
        .prefetch_related("cases")
        .order_by("status", "due_date", "pk")
    )


def carried_over_actions(review: WeeklyReview) -> Any:
    """Actions from earlier reviews that are still open: followed up in every review."""
    return (
        ImprovementAction.objects.filter(review__week_start__lt=review.week_start,
                                         status__in=["open", "in_progress"])
        .select_related("owner", "review")
        .prefetch_related("cases")
        .order_by("due_date", "pk")
    )


def period_of_week(week: date) -> Period:
    """The local week starting on Monday ``week`` and the week before it."""
    return Period("week", week, week + timedelta(days=6), week - timedelta(weeks=1),
                  week - timedelta(days=1))


def root_cause_by_category(window: K.Window, summed: bool = False) -> dict[str, Any]:
    """Root cause x category counts of the cases resolved in ``window`` (one query)."""
    days = summaries.day_span(window)
    if summed and days:
        rows = summaries.root_cause_matrix(*days)
    else:
        rows = K.root_cause_rows(window)
    categories = [c for c in Category.values if any(r["category"] == c for r in rows)]
    causes = RootCause.objects.in_bulk({r["root_cause_id"] for r in rows})
    matrix: dict[int, dict[str, int]] = {}
    for r in rows:
        matrix.setdefault(r["root_cause_id"], {})[r["category"]] = r["n"]
    ordered = sorted(matrix.items(), key=lambda item: -sum(item[1].values()))
    return {
        "categories": [str(Category(c).label) for c in categories],
        "rows": [
            {"label": localized_name(causes[pk]) if pk in causes else "?",
             "cells": [counts.get(c, 0) for c in categories], "total": sum(counts.values())}
            for pk, counts in ordered
        ],
    }
