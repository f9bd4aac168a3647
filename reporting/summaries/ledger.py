"""Applying a change of case facts to the day sums: new minus old, added to the counters
of ``KpiDaySum`` and ``RootCauseDaySum``, and the facts themselves replaced."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from django.db import connection

from reporting.models import CaseKpiFact, KpiDaySum, RootCauseDaySum
from reporting.summaries.columns import COLUMNS
from reporting.summaries.facts import Fact, measure


def _spread(data: dict[str, Any], sign: int, sums: dict[tuple[str, str, str], dict[str, int]],
            causes: Counter) -> None:
    """Add ``sign`` times one fact to the day-sum buckets and the root-cause counter."""
    keys = data["k"].items()
    for day, counts in data["d"].items():
        items = counts.items()
        for dim, key in keys:
            bucket = sums[(day, dim, key)]
            for column, value in items:
                bucket[column] = bucket.get(column, 0) + sign * value
    if data.get("rc"):
        day, cause, category = data["rc"]
        causes[(day, cause, category)] += sign
    for request in data.get("r", ()):
        for dim, key in request["k"].items():
            bucket = sums[(request["day"], dim, key)]
            for column, value in request["c"].items():
                bucket[column] = bucket.get(column, 0) + sign * value


def _upsert(table: str, keys: list[str], columns: list[str], rows: list[list[Any]]) -> None:
    """Add ``rows`` to the table's counters (insert, or add to the existing row). Raw SQL
    because bulk_create's update_conflicts can only overwrite a column, not add to it; the
    statement is the same on PostgreSQL and SQLite."""
    if not rows:
        return
    q = connection.ops.quote_name
    names = [*keys, *columns]
    sql = (
        f"INSERT INTO {q(table)} ({', '.join(q(n) for n in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET "
        + ", ".join(f"{q(c)} = {q(table)}.{q(c)} + excluded.{q(c)}" for c in columns)
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _write_facts(old: dict[int, Any], new: dict[int, Fact], now: datetime) -> None:
    """Replace the facts of the cases in ``old`` and ``new``. PostgreSQL: DELETE and COPY,
    because binding bulk_create's parameters dominates a rebuild (figures in README)."""
    if connection.vendor != "postgresql":
        gone = [case_id for case_id in old if case_id not in new]
        if gone:
            CaseKpiFact.objects.filter(case_id__in=gone).delete()
        if new:
            CaseKpiFact.objects.bulk_create(
                [CaseKpiFact(case_id=case_id, data=data, next_flip_at=flip, computed_at=now)
                 for case_id, (data, flip) in new.items()],
                update_conflicts=True, unique_fields=["case_id"],
                update_fields=["data", "next_flip_at", "computed_at"],
            )
        return
    table = CaseKpiFact._meta.db_table
    with connection.cursor() as cursor:
        if old:
            cursor.execute(f"DELETE FROM {table} WHERE case_id = ANY(%s)", [list(old)])
        if new:
            sql = f"COPY {table} (case_id, data, next_flip_at, computed_at) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for case_id, (data, flip) in new.items():
                    copy.write_row((case_id, json.dumps(data, separators=(",", ":")), flip,
                                    now))


def _add_sums(sums: dict[tuple[str, str, str], dict[str, int]], causes: Counter) -> None:
    _upsert(
        KpiDaySum._meta.db_table, ["day", "dim", "key"], COLUMNS,
        [[date.fromisoformat(day), dim, key, *(bucket.get(c, 0) for c in COLUMNS)]
         for (day, dim, key), bucket in sums.items() if any(bucket.values())],
    )
    _upsert(
        RootCauseDaySum._meta.db_table, ["day", "root_cause_id", "category"], ["cases"],
        [[date.fromisoformat(day), cause, category, n]
         for (day, cause, category), n in causes.items() if n],
    )


def add_copies(copies: dict[int, int]) -> None:
    """Add ``copies[case_id]`` more times each case's current fact to the sums: for a bulk
    loader that wrote that many copies of the case (same times, same dimensions) and copies
    their facts itself. Precondition: as for ``apply``."""
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    causes: Counter = Counter()
    facts = CaseKpiFact.objects.filter(case_id__in=list(copies)).values_list("case_id", "data")
    for case_id, data in facts.iterator(chunk_size=5000):
        if copies[case_id]:
            _spread(data, copies[case_id], sums, causes)
    _add_sums(sums, causes)


def apply(case_ids: set[int], now: datetime) -> int:
    """Recompute the facts of ``case_ids`` and add new minus old to the sums; returns the
    number of cases whose counts changed. Precondition: inside the transaction that holds
    the summary state's row lock (``refreshing``), or a difference may be added twice."""
    old = dict(CaseKpiFact.objects.filter(case_id__in=case_ids).values_list("case_id", "data"))
    new = measure(case_ids, now)
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    causes: Counter = Counter()
    changed = 0
    for case_id in case_ids:
        before, after = old.get(case_id), new.get(case_id, (None, None))[0]
        if before == after:
            continue
        changed += 1
        if before:
            _spread(before, -1, sums, causes)
        if after:
            _spread(after, 1, sums, causes)
    _add_sums(sums, causes)
    _write_facts(old, new, now)
    return changed
