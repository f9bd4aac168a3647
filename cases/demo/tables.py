"""Writing simulated rows: plain dicts of field values per model, inserted with COPY on
PostgreSQL and ``bulk_create`` elsewhere, and the bulk-load switches around a large load."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.db.utils import DatabaseError
from django.utils.functional import Promise


class Table:
    """Rows of one model as dicts keyed by field attname (``customer_id``); a field a row
    leaves out gets its model default, so a column added later does not break the seed.
    ``flush()`` writes what was added and empties the buffer."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.rows: list[dict[str, Any]] = []
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {f.attname: f.get_default() for f in self.fields}

    def add(self, **values: Any) -> None:
        self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)

    def flush(self) -> int:
        """Insert the buffered rows (no signals, no ``save()``). Returns how many."""
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        if connection.vendor != "postgresql":
            self.model.objects.bulk_create(
                [self.model(**{**self.defaults, **row}) for row in rows], batch_size=2000)
            return len(rows)
        # A primary key no row sets comes from the table's sequence.
        explicit_pk = "id" in rows[0]
        fields = [f for f in self.fields if explicit_pk or not f.primary_key]
        tail = {f.attname: _db_value(f, self.defaults[f.attname]) for f in fields}
        names = [f.attname for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        table = connection.ops.quote_name(self.model._meta.db_table)
        json_fields = [f for f in fields if isinstance(f, models.JSONField)]
        with connection.cursor() as cursor, \
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                for f in json_fields:
                    if f.attname in row:
                        row[f.attname] = _db_value(f, row[f.attname])
                copy.write_row([row[n] if n in row else tail[n] for n in names])
        return len(rows)


def _db_value(field: models.Field, value: Any) -> Any:
    if isinstance(value, Promise):
        return str(value)
    if isinstance(field, models.JSONField):
        return field.get_db_prep_save(value, connection)
    return value


def flush_all(tables: Iterable[Table]) -> int:
    return sum(table.flush() for table in tables)


def next_id(model: type[models.Model]) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def reset_sequences(models_: list[type[models.Model]]) -> None:
    """Explicit primary keys were inserted: move the database sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that back no constraint."""
    with connection.cursor() as cursor:
        # pg_indexes gives each index's own CREATE statement, migrations' raw ones included.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = %s::regclass)", [table, table])
        return list(cursor.fetchall())


def _statement_worker_init(replica: bool) -> None:
    if replica:
        set_replica_role(True)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")


def _run_statement(item: tuple[str, str]) -> str:
    label, sql = item
    with connection.cursor() as cursor:
        cursor.execute(sql)
    return label


def run_statements(statements: list[tuple[str, str]], *, workers: int, replica: bool,
                   report: Callable[[str], None] | None = None) -> None:
    """Run (label, SQL) statements, each committed alone, over ``workers`` processes (each
    its own connection, in the replica role when ``replica``); ``report(label)`` after each.
    With one worker, or inside a transaction, in order on this connection. Preconditions:
    the statements do not depend on each other's order (foreign keys are not checked in
    the replica role); nothing else of this process's connection is uncommitted."""
    if workers <= 1 or not transaction.get_autocommit():
        for item in statements:
            label = _run_statement(item)
            if report:
                report(label)
        return
    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, _statement_worker_init, (replica,)) as pool:
        for label in pool.imap_unordered(_run_statement, statements):
            if report:
                report(label)
    if replica:  # this process's new connection starts with the default role
        set_replica_role(True)


@contextmanager
def bulk_load(tables: list[type[models.Model]], *, rebuild_indexes: bool,
              report=None, workers: int = 1) -> Iterator[bool]:
    """Around a large load on PostgreSQL (``rebuild_indexes``): without the secondary indexes
    of ``tables`` (built again at the end, in one sorted pass each, instead of millions of
    single inserts), and, for a superuser, with ``session_replication_role = replica``,
    which skips the per-row foreign-key checks and the KPI queue triggers (the seeder writes
    consistent keys and rebuilds the KPI sums afterwards). Yields whether the triggers were
    skipped. Elsewhere, or when nothing applies, it does nothing."""
    if connection.vendor != "postgresql":
        yield False
        return
    dropped: list[tuple[str, str, str]] = []
    if rebuild_indexes:
        with connection.cursor() as cursor:
            for model in tables:
                for name, definition in _secondary_indexes(model._meta.db_table):
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                    dropped.append((model._meta.db_table, name, definition))
    replica = rebuild_indexes and set_replica_role(True)
    try:
        yield replica
    finally:
        if replica:
            set_replica_role(False)
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            sizes = {}
            for table in {table for table, _name, _sql in dropped}:
                cursor.execute("SELECT pg_relation_size(%s)", [table])
                sizes[table] = cursor.fetchone()[0]
        # The largest tables' first, so that no long build is left running alone at the end.
        dropped.sort(key=lambda item: -sizes[item[0]])
        run_statements([(f"index {name}", sql) for _table, name, sql in dropped],
                       workers=workers, replica=False, report=report)


def set_replica_role(on: bool) -> bool:
    """Switch this session's replication role; False when the role may not (not superuser).
    In a savepoint, so a refusal leaves the caller's transaction usable."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = %s",
                           ["replica" if on else "origin"])
        return True
    except DatabaseError:
        return False


def analyze(models_: list[type[models.Model]], *, workers: int = 1) -> None:
    """What autovacuum does in a running system: planner statistics and the visibility map
    (so counts are index-only scans), one table per statement over ``workers`` processes.
    PostgreSQL only; inside a transaction, where VACUUM cannot run, the statistics alone."""
    if connection.vendor != "postgresql":
        return
    command = "VACUUM ANALYZE" if transaction.get_autocommit() else "ANALYZE"
    run_statements([(model._meta.db_table,
                     f"{command} {connection.ops.quote_name(model._meta.db_table)}")
                    for model in models_], workers=workers, replica=False)
