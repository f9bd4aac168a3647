"""The day-sum columns: one volume per source, then each KPI's numerator and denominator,
and how they map to the sum names of ``reporting.kpis`` (``<code>__num``/``<code>__den``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reporting import kpis as K

# Breakdown dimension -> the case field / the collaboration-request field it groups by.
DIMS: dict[str, str] = {dim: fields[0] for dim, fields in K.DIMENSIONS.items()}
REQUEST_DIMS: dict[str, str] = {dim: fields[1] for dim, fields in K.DIMENSIONS.items()}
CASE_COLUMNS = ["received"] + [f"{k.code}_{p}" for k in K.CASE_KPIS for p in ("num", "den")]
REQUEST_COLUMNS = ["requests"] + [f"{k.code}_{p}" for k in K.REQUEST_KPIS
                                  for p in ("num", "den")]
COLUMNS = CASE_COLUMNS + REQUEST_COLUMNS
# Column -> sum name, and back.
SUM_KEY: dict[str, str] = {"received": "received", "requests": "requests"} | {
    f"{k.code}_{part}": (K.num_key if part == "num" else K.den_key)(k.code)
    for k in K.KPIS for part in ("num", "den")
}
COLUMN: dict[str, str] = {name: column for column, name in SUM_KEY.items()}
# Columns holding a duration, stored in microseconds.
DURATION_COLUMNS = {f"{k.code}_num" for k in K.CASE_KPIS if k.unit == K.HOURS}


def micro(value: Any) -> int:
    """A count or a duration as the integer a column stores (durations in microseconds)."""
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    return int(value)
