"""Reading the day sums: the case KPI sums of a span of whole local days per dimension
value and per day, and the resolved cases per root cause. Read-only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Q, Sum

from reporting import kpis as K
from reporting.models import KpiDaySum, RootCauseDaySum
from reporting.periods import report_tz
from reporting.summaries.columns import COLUMNS, DIMS, DURATION_COLUMNS, SUM_KEY


def day_span(window: K.Window) -> tuple[date, date] | None:
    """The local days ``first`` .. ``last`` a window covers, or None when it does not start
    and end at local midnight (only whole days can be read from the sums)."""
    if window.start is None or window.end is None:
        return None
    tz = report_tz()
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    midnight = {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}
    if start != start.replace(**midnight) or end != end.replace(**midnight):
        return None
    return start.date(), end.date() - timedelta(days=1)


def _sums(row: dict[str, Any]) -> dict[str, Any]:
    """A row of summed columns as the sum names of ``reporting.kpis`` (durations back)."""
    out = {}
    for column in COLUMNS:
        value = row[column] or 0
        if column in DURATION_COLUMNS:
            value = timedelta(microseconds=value)
        out[SUM_KEY[column]] = value
    return out


def _aggregates() -> dict[str, Sum]:
    return {column: Sum(column) for column in COLUMNS}


def _key(dim: str, key: str) -> Any:
    """A stored dimension key as the value the live breakdowns group by."""
    if dim == "tier":
        return int(key)
    if dim == "department":
        return int(key) if key else None
    return key


def by_dimension(first: date, last: date) -> dict[str, dict[Any, dict[str, Any]]]:
    """The case KPI sums of the days ``first`` .. ``last`` per dimension and value (one
    query). The totals are the sum over any one dimension's values."""
    out: dict[str, dict[Any, dict[str, Any]]] = {dim: {} for dim in DIMS}
    rows = (KpiDaySum.objects.filter(day__gte=first, day__lte=last)
            .values("dim", "key").annotate(**_aggregates()).order_by())
    for row in rows:
        sums = _sums(row)
        # A value whose cases all moved to another (a channel corrected at triage) keeps
        # rows of zeros; the live aggregates have no such value, nor does the dashboard.
        if row["dim"] in out and any(sums.values()):
            out[row["dim"]][_key(row["dim"], row["key"])] = sums
    return out


def by_day(first: date, last: date) -> dict[date, dict[str, Any]]:
    """The case KPI sums of each day ``first`` .. ``last`` (one query over the tier rows)."""
    rows = (KpiDaySum.objects.filter(dim="tier", day__gte=first, day__lte=last)
            .values("day").annotate(**_aggregates()).order_by())
    return {row["day"]: _sums(row) for row in rows}


def root_cause_counts(first: date, last: date, previous_first: date | None = None,
                      ) -> list[dict[str, Any]]:
    """Cases resolved per root cause in ``first`` .. ``last`` (``count``) and in
    ``previous_first`` .. the day before ``first`` (``previous``)."""
    in_cur = Q(day__gte=first)
    return list(
        RootCauseDaySum.objects.filter(day__gte=previous_first or first, day__lte=last)
        .values("root_cause_id")
        .annotate(count=Sum("cases", filter=in_cur, default=0),
                  previous=Sum("cases", filter=~in_cur, default=0))
        .order_by()
    )


def root_cause_matrix(first: date, last: date) -> list[dict[str, Any]]:
    """Cases resolved per root cause and category in ``first`` .. ``last``."""
    return list(
        RootCauseDaySum.objects.filter(day__gte=first, day__lte=last)
        .values("root_cause_id", "category").annotate(n=Sum("cases"))
        .filter(n__gt=0).order_by()  # emptied rows (a cause or category changed) count nothing
    )
