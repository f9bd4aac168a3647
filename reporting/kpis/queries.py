"""The aggregate queries every report runs: the KPI definitions applied to the cases and
collaboration requests of a window, grouped by dimension fields or by local day."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from cases.choices import Stage
from cases.models import Case, CollaborationRequest
from reporting.kpis.definitions import (
    CASE_ANCHORS,
    CASE_KPIS,
    REQUEST_KPIS,
    Window,
    den_key,
    in_window,
    num_key,
)


@contextmanager
def aggregate_session() -> Iterator[None]:
    """Run a report's aggregate queries in one read transaction. PostgreSQL: REPEATABLE READ
    when outermost (one page's numbers come from one snapshot while the sums are refreshed)
    and JIT off (it compiles each large conditional aggregate anew, costing more than it
    saves; figures in README). Other databases: just the transaction."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET LOCAL jit = off")
        yield


# --- query builders ----------------------------------------------------------------------------
def case_base() -> Any:
    """The cases every case KPI counts: all but the invalid ones."""
    return Case.objects.exclude(stage=Stage.INVALID).order_by()


def request_base() -> Any:
    """The collaboration requests the request KPIs count: those of non-invalid cases."""
    return CollaborationRequest.objects.exclude(case__stage=Stage.INVALID).order_by()


def case_aggregates(w: Window) -> dict[str, Any]:
    """The aggregate expressions of every case KPI, plus the received volume."""
    aggs: dict[str, Any] = {"received": Count("pk", filter=in_window(w, "received_at"))}
    for kpi in CASE_KPIS:
        num, den = kpi.measure(w)
        aggs[num_key(kpi.code)] = num
        aggs[den_key(kpi.code)] = den
    return aggs


def request_aggregates(w: Window) -> dict[str, Any]:
    """The aggregate expressions of every request KPI, plus the request volume."""
    aggs: dict[str, Any] = {"requests": Count("pk", filter=in_window(w, "created_at"))}
    for kpi in REQUEST_KPIS:
        num, den = kpi.measure(w)
        aggs[num_key(kpi.code)] = num
        aggs[den_key(kpi.code)] = den
    return aggs


def case_in_window(w: Window) -> Q:
    """Cases that can count in any case KPI of the window (any anchor inside it)."""
    q = Q()
    for anchor in CASE_ANCHORS:
        q |= in_window(w, anchor)
    return q


def case_rows(w: Window, group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One aggregate query: the KPI sums of the window, grouped by ``group_by`` case fields."""
    fields = list(group_by)
    qs = case_base().filter(case_in_window(w))
    if not fields:
        return [qs.aggregate(**case_aggregates(w))]
    return list(qs.values(*fields).annotate(**case_aggregates(w)).order_by())


def request_rows(w: Window, group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One aggregate query: the request KPI sums of the window, grouped by ``group_by``."""
    fields = list(group_by)
    qs = request_base().filter(in_window(w, "created_at"))
    if not fields:
        return [qs.aggregate(**request_aggregates(w))]
    return list(qs.values(*fields).annotate(**request_aggregates(w)).order_by())


def case_day_rows(w: Window, tz: Any) -> list[dict[str, Any]]:
    """One aggregate query, one pass over the cases of ``w``: every case KPI's sums grouped
    by the local *day* of each anchor time (received, resolved, revisit due, revisit done,
    closed). Cases resolve, get revisited and close within days of receipt, so the day
    tuples are few (about ten thousand a year) and ``rollup_days`` attributes each KPI's sums
    to the day of its own anchor. Any period made of whole local days (this week, a month,
    the previous period, a weekly trend) is then a sum of days: exact, without another
    scan."""
    days = {f"d_{a}": TruncDate(a, tzinfo=tz) for a in CASE_ANCHORS}
    qs = case_base().filter(case_in_window(w)).annotate(**days)
    return list(qs.values(*days).annotate(**case_aggregates(w)).order_by())


def root_cause_rows(w: Window) -> list[dict[str, Any]]:
    """One aggregate query: the cases resolved in ``w`` per root cause and category (``n``)."""
    return list(
        case_base()
        .filter(in_window(w, "resolved_at"), root_cause__isnull=False)
        .values("root_cause_id", "category").annotate(n=Count("pk")).order_by()
    )


def request_day_rows(w: Window, tz: Any) -> list[dict[str, Any]]:
    """One aggregate query: the request KPI sums of the window per local creation day."""
    qs = request_base().filter(in_window(w, "created_at")).annotate(
        d_created_at=TruncDate("created_at", tzinfo=tz))
    return list(qs.values("d_created_at").annotate(**request_aggregates(w)).order_by())
