"""Checking the day sums against live aggregates over the cases, and the queue triggers
against the columns the KPIs read (``kpi_summaries --verify``). Read-only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from reporting import kpis as K
from reporting.periods import local_midnight, report_tz
from reporting.summaries import triggers
from reporting.summaries.columns import DIMS, REQUEST_DIMS, micro
from reporting.summaries.reads import by_day, by_dimension, root_cause_matrix
from reporting.summaries.watched import watched_columns


def _norm(sums: dict[str, Any]) -> dict[str, int]:
    return {name: micro(value) for name, value in sums.items() if value}


def compare(first: date, last: date, now: datetime) -> list[str]:
    """Differences between the sums and the live aggregates over the cases and requests for
    the days ``first`` .. ``last`` (per dimension value, per day, per root cause). Empty when they
    agree, as they must; run after ``refresh(now=now)``."""
    window = K.Window(local_midnight(first), local_midnight(last + timedelta(days=1)), now)
    diffs: list[str] = []

    def check(what: str, live: dict[Any, dict[str, Any]], summed: dict[Any, dict[str, Any]],
              ) -> None:
        for key in sorted(set(live) | set(summed), key=str):
            a, b = _norm(live.get(key, {})), _norm(summed.get(key, {}))
            if a != b:
                diffs.append(f"{what} {key}: live {a} != summed {b}")

    live_dims = K.sums_by_dimension(K.case_rows(window, list(DIMS.values())),
                                    K.request_rows(window, list(REQUEST_DIMS.values())))
    summed_dims = by_dimension(first, last)
    for dim in DIMS:
        check(dim, live_dims[dim], summed_dims[dim])
    live_days = K.day_sums(window, report_tz())
    check("day", {d: s for d, s in live_days.items() if first <= d <= last}, by_day(first, last))

    def by_cause(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        return {(r["root_cause_id"], r["category"]): {"cases": r["n"]} for r in rows}

    check("root cause", by_cause(K.root_cause_rows(window)),
          by_cause(root_cause_matrix(first, last)))
    return diffs


def trigger_differences(using: str = "default") -> list[str]:
    """What is wrong with the installed queue triggers: a missing one, or an update trigger
    watching other columns than the KPIs read. Empty when they are as they must be."""
    installed = triggers.installed(using)
    diffs = [f"trigger {name} is not installed" for name in triggers.TRIGGERS
             if name not in installed]
    derived = watched_columns()
    for table, columns in triggers.watched_by_installed(using).items():
        if columns != set(derived[table]):
            diffs.append(f"the triggers on {table} watch {sorted(columns)}, the KPIs read "
                         f"{sorted(derived[table])}")
    return diffs
