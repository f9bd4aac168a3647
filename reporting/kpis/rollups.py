"""Rolling the KPI sums of grouped rows up to coarser groups and local days, and turning
sums into KPI values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reporting.kpis import queries
from reporting.kpis.definitions import (
    CASE_KPIS,
    DIMENSIONS,
    HOURS,
    KPIS,
    REQUEST_KPIS,
    Kpi,
    Window,
    den_key,
    num_key,
)


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def rollup(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any] | None = None,
           ) -> dict[Any, dict[str, Any]]:
    """Sum grouped rows by ``key(row)`` (everything into one bucket when ``key`` is None)."""
    out: dict[Any, dict[str, Any]] = {}
    for row in rows:
        bucket = out.setdefault(key(row) if key else None, {})
        for name, value in row.items():
            if name.endswith(("__num", "__den")) or name in ("received", "requests"):
                bucket[name] = _add(bucket.get(name), value)
    return out


def rollup_days(case_rows_: Iterable[dict[str, Any]], request_rows_: Iterable[dict[str, Any]],
                ) -> dict[Any, dict[str, Any]]:
    """Attribute each KPI's sums to the local day of the KPI's own anchor."""
    out: dict[Any, dict[str, Any]] = {}

    def put(day: Any, name: str, value: Any) -> None:
        if day is None or not value:
            return
        bucket = out.setdefault(day, {})
        bucket[name] = _add(bucket.get(name), value)

    for row in case_rows_:
        for day, name, value in case_filings(row):
            put(day, name, value)
    for row in request_rows_:
        for name, value in request_sums(row):
            put(row["d_created_at"], name, value)
    return out


def case_filings(row: dict[str, Any]) -> Iterator[tuple[Any, str, Any]]:
    """(day, sum name, value) of a case row grouped by the anchor days (``case_day_rows``,
    or one case's): the volume under the day of receipt, each KPI's sums under the day of
    the KPI's own anchor. The live day sums and the stored ones (``reporting.summaries``)
    both file through here."""
    yield row["d_received_at"], "received", row["received"]
    for kpi in CASE_KPIS:
        day = row[f"d_{kpi.anchor}"]
        yield day, num_key(kpi.code), row[num_key(kpi.code)]
        yield day, den_key(kpi.code), row[den_key(kpi.code)]


def request_sums(row: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(sum name, value) of a request row: all of it is filed under its creation day."""
    yield "requests", row["requests"]
    for kpi in REQUEST_KPIS:
        yield num_key(kpi.code), row[num_key(kpi.code)]
        yield den_key(kpi.code), row[den_key(kpi.code)]


def sums_by_dimension(case_rows_: Iterable[dict[str, Any]],
                      request_rows_: Iterable[dict[str, Any]] = (),
                      ) -> dict[str, dict[Any, dict[str, Any]]]:
    """KPI sums per dimension and value, rolled up from case rows grouped by every
    dimension's case field and request rows grouped by every dimension's request field
    (a request counts under its own department and its case's tier, channel, category)."""
    cases, requests = list(case_rows_), list(request_rows_)
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    for dim, (case_field, request_field) in DIMENSIONS.items():
        by_case = rollup(cases, key=lambda r, f=case_field: r[f])
        by_request = rollup(requests, key=lambda r, f=request_field: r[f])
        out[dim] = {key: {**by_case.get(key, {}), **by_request.get(key, {})}
                    for key in set(by_case) | set(by_request)}
    return out


def day_sums(w: Window, tz: Any) -> dict[Any, dict[str, Any]]:
    """KPI sums per local day of ``w``, cases and requests (two aggregate queries)."""
    return rollup_days(queries.case_day_rows(w, tz), queries.request_day_rows(w, tz))


def sum_days(days: dict[Any, dict[str, Any]], first: Any, last: Any) -> dict[str, Any]:
    """The sums of the local days ``first`` .. ``last`` (inclusive)."""
    return rollup(sums for day, sums in days.items() if first <= day <= last).get(None, {})


def kpi_value(kpi: Kpi, sums: dict[str, Any]) -> Decimal | None:
    """The KPI's value from its sums: a percentage (one decimal) or hours (one decimal);
    None when the denominator is zero (no data is not 0 % and not 100 %)."""
    num, den = sums.get(num_key(kpi.code)), sums.get(den_key(kpi.code)) or 0
    if not den:
        return None
    if kpi.unit == HOURS:
        seconds = num.total_seconds() if isinstance(num, timedelta) else float(num or 0) / 1e6
        value = Decimal(str(seconds)) / Decimal(3600) / Decimal(den)
    else:
        value = Decimal(num or 0) * 100 / Decimal(den)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def kpi_values(sums: dict[str, Any]) -> dict[str, Decimal | None]:
    """Every KPI's value from one set of sums, by code."""
    return {kpi.code: kpi_value(kpi, sums) for kpi in KPIS}


def compute(w: Window) -> dict[str, Decimal | None]:
    """Every KPI for one window, with no breakdown: two aggregate queries."""
    with queries.aggregate_session():
        sums = {**queries.case_rows(w)[0], **queries.request_rows(w)[0]}
    return kpi_values(sums)
