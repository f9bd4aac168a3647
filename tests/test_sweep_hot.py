"""The deadline sweep's case writes stay cheap on a large case table: the case columns it
rewrites are in no index (so PostgreSQL updates the row in place, HOT, rather than adding an
entry to each of the table's many indexes), and the table leaves room for that on its pages.
Figures: bench/bench_sweep.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction

from cases.choices import SlaState, Stage
from cases.models import Case, CaseDeadline
from cases.services.sweeps import deadline_sweep
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

SWEPT_COLUMNS = {"sla_state", "ever_breached", "response_breached"}


def _indexed_columns() -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Case._meta.db_table)
    indexed = {name: {c for c in (info["columns"] or []) if c} for name, info in
               constraints.items() if info["index"] or info["unique"]}
    if connection.vendor == "postgresql":  # INCLUDE columns and expressions too
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                           [Case._meta.db_table])
            for name, definition in cursor.fetchall():
                indexed.setdefault(name, set()).update(
                    c for c in SWEPT_COLUMNS if c in definition)
    return indexed


def test_columns_the_sweep_rewrites_are_in_no_case_index():
    offending = {name: cols & SWEPT_COLUMNS for name, cols in _indexed_columns().items()
                 if cols & SWEPT_COLUMNS}
    assert offending == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # committed: old row versions can be pruned
def test_sweep_updates_cases_in_place_on_postgresql(frontline, supervisor):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'cases_case'")
        assert "fillfactor=85" in (cursor.fetchone()[0] or [])
    cases = [CaseFactory(stage=Stage.IN_PROGRESS, actor=frontline) for _ in range(3)]
    due = max(CaseDeadline.objects.filter(case__in=cases, stopped_at__isnull=True)
              .values_list("due_at", flat=True))
    with connection.cursor() as cursor:  # the factories' own updates left dead versions on
        cursor.execute("VACUUM cases_case")  # the rows' page: HOT needs its free space back

    def counters() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_xact_tuples_updated('cases_case'::regclass), "
                           "pg_stat_get_xact_tuples_hot_updated('cases_case'::regclass)")
            return cursor.fetchone()

    with transaction.atomic():  # the xact counters cover the current transaction
        updated, hot = counters()
        with time_machine.travel(due + timedelta(seconds=1), tick=False):
            result = deadline_sweep(notify=False)
        updated_after, hot_after = counters()
    assert result.breached >= 3
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases])
               .values_list("sla_state", flat=True)) == {SlaState.BREACHED}
    assert updated_after - updated >= 3
    assert hot_after - hot == updated_after - updated  # every case row updated in place
