"""The triggers that queue a case in ``KpiQueue`` in the same transaction as any change
that can change its KPI fact, whoever makes it (a service, the admin, ``update()``, COPY):

* ``cases_case``: insert, delete, and an update of a watched column;
* ``cases_collaborationrequest``: insert, delete, and an update of a watched column (the old
  case too when a request moves);
* ``cases_customer``: an update of a watched column queues the customer's cases;
* ``cases_casetransition``: insert and delete of a tier entry (the log is append-only).

The watched columns come from ``reporting.summaries.watched`` (derived from the KPI
definitions); which rows lead to which case (and that the log counts its tier entries only,
a superset of the upward retiers the escalation KPI reads) is declared here. PostgreSQL:
installed by reporting migrations holding this SQL literally, written by ``manage.py
kpi_trigger_migration``; a change of the columns or of this SQL needs the next one (the
command's ``--check`` and the tests fail until it exists). SQLite: installed after every
``migrate`` (``reporting.apps``), because SQLite drops a table's triggers when a migration
rebuilds the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from django.db import connections, transaction

CASES_TABLE = "cases_case"
REQUESTS_TABLE = "cases_collaborationrequest"
CUSTOMERS_TABLE = "cases_customer"
TRANSITIONS_TABLE = "cases_casetransition"
QUEUE_TABLE = "reporting_kpiqueue"
TRIGGERS = {
    "reporting_kpi_transition_write": TRANSITIONS_TABLE,
    "reporting_kpi_transition_delete": TRANSITIONS_TABLE,
    "reporting_kpi_case_insert": CASES_TABLE, "reporting_kpi_case_delete": CASES_TABLE,
    "reporting_kpi_case_update": CASES_TABLE,
    "reporting_kpi_customer_update": CUSTOMERS_TABLE,
    "reporting_kpi_request_insert": REQUESTS_TABLE,
    "reporting_kpi_request_delete": REQUESTS_TABLE,
    "reporting_kpi_request_update": REQUESTS_TABLE,
}
# The tables these triggers know how to lead from a changed row to its case.
ROUTED_TABLES = frozenset(TRIGGERS.values())
# The update triggers and the table whose watched columns their condition compares.
UPDATE_TRIGGERS = {
    "reporting_kpi_case_update": CASES_TABLE,
    "reporting_kpi_request_update": REQUESTS_TABLE,
    "reporting_kpi_customer_update": CUSTOMERS_TABLE,
}
FUNCTIONS = ("reporting_kpi_queue_rows", "reporting_kpi_queue_case",
             "reporting_kpi_queue_request_rows", "reporting_kpi_queue_request",
             "reporting_kpi_queue_customer", "reporting_kpi_queue_transition")

Watched = Mapping[str, Sequence[str]]


def _check(watched: Watched) -> None:
    """Refuse a column list naming a table no trigger leads from to its case."""
    unrouted = set(watched) - ROUTED_TABLES
    if unrouted:
        raise ValueError(f"KPIs read {sorted(unrouted)}: no queue trigger leads from there "
                         "to the case; add one in reporting.summaries.triggers")


def _row(watched: Watched, table: str, record: str) -> str:
    return ", ".join(f"{record}.{c}" for c in watched[table])


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _pg_rows_function(name: str, case_column: str) -> str:
    """A statement-level trigger function queueing the ``case_column`` of every inserted or
    deleted row (the transition tables new_rows / old_rows)."""
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) SELECT {case_column} FROM old_rows;
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) SELECT {case_column} FROM new_rows;
             END IF;
             RETURN NULL;
           END $$"""


def postgresql_sql(watched: Watched) -> list[str]:
    """The statements that (re)create every queue trigger and its function on PostgreSQL,
    the update triggers firing on a change of the ``watched`` columns. Idempotent."""
    _check(watched)
    old, new = _row(watched, CASES_TABLE, "OLD"), _row(watched, CASES_TABLE, "NEW")
    old_request = _row(watched, REQUESTS_TABLE, "OLD")
    new_request = _row(watched, REQUESTS_TABLE, "NEW")
    customer_changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}"
                                   for c in watched[CUSTOMERS_TABLE])
    drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGERS.items()]
    return drops + [
        _pg_rows_function("reporting_kpi_queue_rows", "id"),
        """CREATE OR REPLACE FUNCTION reporting_kpi_queue_case() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); RETURN NULL; END $$""",
        _pg_rows_function("reporting_kpi_queue_request_rows", "case_id"),
        """CREATE OR REPLACE FUNCTION reporting_kpi_queue_request() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             IF OLD.case_id <> NEW.case_id THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             END IF;
             RETURN NULL;
           END $$""",
        """CREATE OR REPLACE FUNCTION reporting_kpi_queue_customer() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id)
               SELECT id FROM cases_case WHERE customer_id = NEW.id;
             RETURN NULL;
           END $$""",
        # Statement-level for inserts and deletes, so COPY and bulk_create queue cheaply.
        """CREATE TRIGGER reporting_kpi_case_insert AFTER INSERT ON cases_case
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
        """CREATE TRIGGER reporting_kpi_case_delete AFTER DELETE ON cases_case
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
        # Row-level with a condition for updates: the deadline sweep rewrites thousands of
        # rows' deadline state, which no KPI reads, and must not queue them.
        f"""CREATE TRIGGER reporting_kpi_case_update AFTER UPDATE ON cases_case
           FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
           EXECUTE FUNCTION reporting_kpi_queue_case()""",
        f"""CREATE TRIGGER reporting_kpi_customer_update AFTER UPDATE ON {CUSTOMERS_TABLE}
           FOR EACH ROW WHEN ({customer_changed})
           EXECUTE FUNCTION reporting_kpi_queue_customer()""",
        f"""CREATE TRIGGER reporting_kpi_request_insert AFTER INSERT ON {REQUESTS_TABLE}
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
        f"""CREATE TRIGGER reporting_kpi_request_delete AFTER DELETE ON {REQUESTS_TABLE}
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
        f"""CREATE TRIGGER reporting_kpi_request_update AFTER UPDATE ON {REQUESTS_TABLE}
           FOR EACH ROW WHEN (({old_request}) IS DISTINCT FROM ({new_request}))
           EXECUTE FUNCTION reporting_kpi_queue_request()""",
        # Row-level with a condition: only the tier entries of the log count (the
        # escalation KPI); the stage entry every action writes does not call the function.
        # The log is append-only (read-only in the admin): inserts and deletes suffice.
        """CREATE OR REPLACE FUNCTION reporting_kpi_queue_transition() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             END IF;
             RETURN NULL;
           END $$""",
        f"""CREATE TRIGGER reporting_kpi_transition_write AFTER INSERT ON {TRANSITIONS_TABLE}
           FOR EACH ROW WHEN (NEW.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
        f"""CREATE TRIGGER reporting_kpi_transition_delete AFTER DELETE ON {TRANSITIONS_TABLE}
           FOR EACH ROW WHEN (OLD.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
    ]


def sqlite_sql(watched: Watched) -> list[str]:
    """The same triggers on SQLite (no statement-level triggers there: one per row)."""
    _check(watched)
    changed = _changed(watched[CASES_TABLE])
    request_changed = _changed(watched[REQUESTS_TABLE])
    customer_changed = _changed(watched[CUSTOMERS_TABLE])
    return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS] + [
        """CREATE TRIGGER reporting_kpi_case_insert AFTER INSERT ON cases_case
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); END""",
        """CREATE TRIGGER reporting_kpi_case_delete AFTER DELETE ON cases_case
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.id); END""",
        f"""CREATE TRIGGER reporting_kpi_case_update AFTER UPDATE ON cases_case
           WHEN {changed}
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); END""",
        f"""CREATE TRIGGER reporting_kpi_customer_update AFTER UPDATE ON {CUSTOMERS_TABLE}
           WHEN {customer_changed}
           BEGIN INSERT INTO reporting_kpiqueue (case_id)
                 SELECT id FROM cases_case WHERE customer_id = NEW.id; END""",
        f"""CREATE TRIGGER reporting_kpi_request_insert AFTER INSERT ON {REQUESTS_TABLE}
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id); END""",
        f"""CREATE TRIGGER reporting_kpi_request_delete AFTER DELETE ON {REQUESTS_TABLE}
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id); END""",
        f"""CREATE TRIGGER reporting_kpi_request_update AFTER UPDATE ON {REQUESTS_TABLE}
           WHEN {request_changed}
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
                 INSERT INTO reporting_kpiqueue (case_id) SELECT OLD.case_id
                 WHERE OLD.case_id IS NOT NEW.case_id; END""",
        f"""CREATE TRIGGER reporting_kpi_transition_write AFTER INSERT ON {TRANSITIONS_TABLE}
           WHEN NEW.field = 'tier'
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id); END""",
        f"""CREATE TRIGGER reporting_kpi_transition_delete AFTER DELETE ON {TRANSITIONS_TABLE}
           WHEN OLD.field = 'tier'
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id); END""",
    ]


def postgresql_drop_sql() -> list[str]:
    """The statements that remove every queue trigger and function on PostgreSQL."""
    return ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGERS.items()]
            + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS])


def install_sqlite(using: str = "default") -> None:
    """(Re)create the triggers on an SQLite database with the columns the KPIs read now.
    Does nothing on other databases (migrations install them) or before the cases and
    reporting tables exist (the next full migrate installs them)."""
    from reporting.summaries.watched import watched_columns

    conn = connections[using]
    if conn.vendor != "sqlite":
        return
    if not {*ROUTED_TABLES, QUEUE_TABLE} <= set(conn.introspection.table_names()):
        return
    with transaction.atomic(using=using), conn.cursor() as cursor:
        for sql in sqlite_sql(watched_columns()):
            cursor.execute(sql)


def installed(using: str = "default") -> dict[str, str]:
    """Trigger name -> its definition as the database reports it, for the queue triggers
    present (PostgreSQL ``pg_get_triggerdef``, SQLite ``sqlite_master``). Read-only."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        # The catalogue is the only place the installed definition can be read from.
        sql = "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
    else:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    with conn.cursor() as cursor:
        cursor.execute(sql)
        return {name: text for name, text in cursor.fetchall() if name in TRIGGERS}


def watched_by_installed(using: str = "default") -> dict[str, set[str]]:
    """Table -> the columns the installed update triggers compare (read back from their
    definitions), to check them against the columns the KPIs read."""
    defs = installed(using)
    out: dict[str, set[str]] = {}
    for name, table in UPDATE_TRIGGERS.items():
        text = defs.get(name, "").lower()
        condition = text.split("when", 1)[-1] if "when" in text else ""
        out[table] = set(re.findall(r"\bold\.\"?([a-z0-9_]+)", condition))
    return out
