"""The columns the KPI facts read, derived from the fact queries themselves (so from the KPI
definitions in ``reporting.kpis``): a change to any of them must queue the case. The queue
triggers' migration freezes this list; ``tests/test_kpi_triggers.py`` fails when they differ.
The walk reads the ORM's query tree (``Query``, ``Join``, ``Col``: public names, though not
documented API); the tests pin what it finds, so a Django upgrade that changes it shows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.expressions import Col
from django.db.models.sql.datastructures import Join
from django.db.models.sql.query import Query

from reporting.summaries.facts import case_fact_query, request_fact_query

# Any moment will do: the columns a query reads do not depend on it.
_SOME_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)


def _walk(node: Any, out: dict[type[Model], set[str]], seen: set[int]) -> None:
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Col):
        out[node.target.model].add(node.target.column)
        return
    if isinstance(node, Query):
        for alias in node.alias_map.values():
            if isinstance(alias, Join):
                for left, right in alias.join_fields:
                    out[left.model].add(left.column)
                    out[right.model].add(right.column)
        group_by = node.group_by if isinstance(node.group_by, tuple) else ()
        for part in (node.where, *node.annotations.values(), *node.select, *group_by):
            _walk(part, out, seen)
        return
    for child in getattr(node, "get_source_expressions", list)():
        _walk(child, out, seen)
    if isinstance(getattr(node, "rhs", None), Query):
        _walk(node.rhs, out, seen)
    for child in getattr(node, "children", ()):
        _walk(child, out, seen)


def columns_read(*querysets: QuerySet) -> dict[str, set[str]]:
    """Table -> the columns the querysets' SQL reads (filters, joins, annotations, grouping
    and subqueries alike). Builds no SQL and runs no query."""
    out: dict[type[Model], set[str]] = defaultdict(set)
    for queryset in querysets:
        _walk(queryset.query, out, set())
    return {model._meta.db_table: columns for model, columns in out.items()}


def fact_queries() -> list[QuerySet]:
    """The queries a case's KPI fact is computed with (unevaluated)."""
    return [case_fact_query([], _SOME_MOMENT), request_fact_query([], _SOME_MOMENT)]


def watched_columns() -> dict[str, tuple[str, ...]]:
    """Table -> the sorted columns whose change can change a KPI fact: every column the fact
    queries read except the table's primary key (a row's id is never updated). Tables left
    with no column (read by their key alone) need no trigger and are not listed."""
    from django.apps import apps

    pks = {m._meta.db_table: m._meta.pk.column for m in apps.get_models()}
    out = {}
    for table, columns in columns_read(*fact_queries()).items():
        kept = sorted(columns - {pks.get(table)})
        if kept:
            out[table] = tuple(kept)
    return dict(sorted(out.items()))
