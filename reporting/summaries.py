"""Exact day sums of every case KPI: the read model that makes the dashboard cost O(days)
instead of O(cases).

How the sums stay exact:

* What a case adds to the sums is computed by the KPI definitions themselves
  (``reporting.kpis.case_aggregates`` over an all-time window, grouped by case), filed under
  the local day of each KPI's own anchor time and under the case's tier, channel, category
  and department (``KpiDaySum``), plus its root cause under the day it was resolved
  (``RootCauseDaySum``). A period of whole local days is then the sum of its days' rows:
  the same numbers the live aggregate gives, because the live aggregate is a sum too.
* Database triggers on ``cases_case`` (insert, delete, an update of any column a KPI reads),
  on ``cases_customer`` (the key-customer flag), on ``cases_collaborationrequest`` and on
  the tier entries of ``cases_casetransition`` (the escalation KPI reads them) put the
  case's id in ``KpiQueue`` in the same transaction as the change, whatever made it: a
  service, the admin, a queryset ``update()``, ``COPY``. Nothing can change a counted fact
  without queueing the case.
* A case's counts also change with time alone: a running clock's outcome becomes known when
  its due time passes. Each case's fact remembers the earliest such due time
  (``CaseKpiFact.next_flip_at``) and is computed again once it has passed.
* ``refresh`` recomputes the queued and the flipped cases and adds new minus old to the
  sums. It is idempotent: a case computed twice changes nothing.

The beat task refreshes every minute; the dashboard refreshes the few cases changed since
then before it reads. With a long backlog (after a bulk import, or a change of time zone or
of the definitions, which rebuilds everything) the dashboard computes live until the task
has caught up, so its numbers are exact either way.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case as DbCase
from django.db.models import DateTimeField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Least, TruncDate
from django.utils import timezone

from reporting import kpis as K
from reporting.models import CaseKpiFact, KpiDaySum, KpiQueue, KpiSummaryState, RootCauseDaySum
from reporting.periods import local_midnight, report_tz

logger = logging.getLogger(__name__)

# Raise when a KPI definition changes: the sums are then rebuilt from the cases.
SUMMARY_VERSION = 1
BATCH = 2000
# The dashboard refreshes at most this many cases itself before it falls back to live.
INLINE_MAX = getattr(settings, "KPI_SUMMARY_INLINE_MAX", 5000)
# A clock set back by more than this (tests travelling in time) cannot use the sums.
CLOCK_SKEW = timedelta(seconds=5)

DIMS: dict[str, str] = {dim: fields[0] for dim, fields in K.DIMENSIONS.items()}
# (stop, due) of each clock whose outcome a KPI reads.
CLOCKS = (
    ("first_responded_at", "response_due_at"),
    ("resolved_at", "solution_due_at"),
    ("feedback_given_at", "feedback_due_at"),
    ("revisit_done_at", "revisit_due_at"),
)
# The cases_case columns some KPI reads: updating any of them queues the case.
WATCHED = (
    "received_at", "stage", "tier", "retiered", "reopen_count", "channel", "category",
    "department_id", "customer_id", "root_cause_id", "response_breached", "response_due_at",
    "first_responded_at", "solution_due_at", "resolved_at", "feedback_due_at",
    "feedback_given_at", "revisit_due_at", "revisit_done_at", "closed_at", "satisfaction_score",
)
# The collaboration-request columns whose change queues the request's case.
REQUEST_WATCHED = ("case_id", "department_id", "created_at", "answered_at", "due_at", "status",
                   "closed_at")
REQUEST_DIMS: dict[str, str] = {dim: fields[1] for dim, fields in K.DIMENSIONS.items()}
# Summary columns: the volumes, then each KPI's numerator and denominator.
CASE_COLUMNS = ["received"] + [f"{k.code}_{p}" for k in K.CASE_KPIS for p in ("num", "den")]
REQUEST_COLUMNS = ["requests"] + [f"{k.code}_{p}" for k in K.REQUEST_KPIS
                                  for p in ("num", "den")]
COLUMNS = CASE_COLUMNS + REQUEST_COLUMNS
_SUM_KEY = {"received": "received", "requests": "requests"} | {
    f"{k.code}_{part}": (K.num_key if part == "num" else K.den_key)(k.code)
    for k in K.KPIS for part in ("num", "den")
}
_COLUMN = {name: column for column, name in _SUM_KEY.items()}
_DURATION_COLUMNS = {f"{k.code}_num" for k in K.CASE_KPIS if k.unit == K.HOURS}


# --- triggers ----------------------------------------------------------------------------------
REQUESTS_TABLE = "cases_collaborationrequest"
TRANSITIONS_TABLE = "cases_casetransition"
TRIGGERS = {
    "reporting_kpi_transition_write": TRANSITIONS_TABLE,
    "reporting_kpi_transition_delete": TRANSITIONS_TABLE,
    "reporting_kpi_case_insert": "cases_case", "reporting_kpi_case_delete": "cases_case",
    "reporting_kpi_case_update": "cases_case", "reporting_kpi_customer_update": "cases_customer",
    "reporting_kpi_request_insert": REQUESTS_TABLE,
    "reporting_kpi_request_delete": REQUESTS_TABLE,
    "reporting_kpi_request_update": REQUESTS_TABLE,
}


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


def _pg_triggers() -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in WATCHED)
    new = ", ".join(f"NEW.{c}" for c in WATCHED)
    old_request = ", ".join(f"OLD.{c}" for c in REQUEST_WATCHED)
    new_request = ", ".join(f"NEW.{c}" for c in REQUEST_WATCHED)
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
        """CREATE TRIGGER reporting_kpi_customer_update
           AFTER UPDATE OF is_key_customer ON cases_customer
           FOR EACH ROW WHEN (OLD.is_key_customer IS DISTINCT FROM NEW.is_key_customer)
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


def _sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    request_changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in REQUEST_WATCHED)
    return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS] + [
        """CREATE TRIGGER reporting_kpi_case_insert AFTER INSERT ON cases_case
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); END""",
        """CREATE TRIGGER reporting_kpi_case_delete AFTER DELETE ON cases_case
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.id); END""",
        f"""CREATE TRIGGER reporting_kpi_case_update AFTER UPDATE ON cases_case
           WHEN {changed}
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); END""",
        """CREATE TRIGGER reporting_kpi_customer_update
           AFTER UPDATE OF is_key_customer ON cases_customer
           WHEN OLD.is_key_customer IS NOT NEW.is_key_customer
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


def install_triggers(using: str = "default") -> None:
    """(Re)create the queueing triggers. Run after every ``migrate`` (reporting.apps): on
    SQLite, Django rebuilds a table to alter a column, which drops the table's triggers."""
    from django.db import connections

    conn = connections[using]
    statements = {"postgresql": _pg_triggers, "sqlite": _sqlite_triggers}.get(conn.vendor)
    if statements is None:
        logger.warning("KPI summary triggers not installed: unsupported database %s",
                       conn.vendor)
        return
    tables = set(conn.introspection.table_names())
    if not {"cases_case", "cases_customer", REQUESTS_TABLE, TRANSITIONS_TABLE,
            KpiQueue._meta.db_table} <= tables:
        return  # migrated only part of the way: the next full migrate installs them
    with transaction.atomic(using=using), conn.cursor() as cursor:
        for sql in statements():
            cursor.execute(sql)


# --- computing one case's fact -----------------------------------------------------------------
def _micro(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    return int(value)


def _filed(row: dict[str, Any]) -> Iterable[tuple[date | None, str, int]]:
    """(day, column, value) of one case's counts: each KPI under its own anchor's day."""
    for day, name, value in K.case_filings(row):
        yield day, _COLUMN[name], _micro(value)


# "No clock left to fall due" in the flip expression (LEAST ignores no NULL on SQLite).
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def _next_flip(clocks: Iterable[tuple[str, str]], now: datetime) -> Least:
    """The earliest due time after ``now`` of a clock that has not stopped, else NEVER."""
    return Least(*[
        Coalesce(DbCase(When(Q(**{f"{stop}__isnull": True, f"{due}__gt": now}), then=F(due)),
                        output_field=DateTimeField()), Value(NEVER))
        for stop, due in clocks
    ], Value(NEVER))


def _request_facts(case_ids: list[int], now: datetime) -> dict[int, list[dict[str, Any]]]:
    """What each case's collaboration requests add: one aggregate query, grouped by request,
    each under its creation day, its own department and its case's tier, channel, category.
    Also the earliest due time of a request still unanswered (when it flips to late)."""
    tz = report_tz()
    rows = (
        K.request_base().filter(case_id__in=case_ids)
        .annotate(d_created_at=TruncDate("created_at", tzinfo=tz),
                  flip=_next_flip([("answered_at", "due_at")], now))
        .values("pk", "case_id", *REQUEST_DIMS.values(), "d_created_at", "flip")
        .annotate(**K.request_aggregates(K.all_time(now)))
        .order_by()
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        counts = {_COLUMN[name]: value for name, value in K.request_sums(row)}
        flip = row["flip"] if row["flip"] < NEVER else None
        out[row["case_id"]].append({
            "k": {dim: "" if row[field] is None else str(row[field])
                  for dim, field in REQUEST_DIMS.items()},
            "day": row["d_created_at"].isoformat(),
            "c": {c: v for c, v in counts.items() if v},
            "flip": flip.isoformat() if flip else None,
        })
    return out


def measure(case_ids: Iterable[int], now: datetime) -> dict[int, tuple[dict[str, Any],
                                                                        datetime | None]]:
    """The fact of each given case at ``now`` (invalid and missing cases have none): one
    aggregate query over the cases and one over their requests, both using the KPI
    definitions, grouped by case and by request."""
    ids = list(case_ids)
    tz = report_tz()
    days = {f"d_{a}": TruncDate(a, tzinfo=tz) for a in K.CASE_ANCHORS}
    rows = (
        K.case_base().filter(pk__in=ids).annotate(**days, flip=_next_flip(CLOCKS, now))
        .values("pk", *DIMS.values(), "root_cause_id", *days, "flip")
        .annotate(**K.case_aggregates(K.all_time(now)))
        .order_by()
    )
    requests = _request_facts(ids, now)
    out: dict[int, tuple[dict[str, Any], datetime | None]] = {}
    for row in rows:
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for day, column, value in _filed(row):
            if day is not None and value:
                counts[day.isoformat()][column] = value
        keys = {dim: "" if row[field] is None else str(row[field])
                for dim, field in DIMS.items()}
        cause = None
        if row["root_cause_id"] is not None and row["d_resolved_at"] is not None:
            cause = [row["d_resolved_at"].isoformat(), row["root_cause_id"], row["category"]]
        own = requests.pop(row["pk"], [])
        pending = [datetime.fromisoformat(r["flip"]) for r in own if r["flip"]]
        if row["flip"] < NEVER:
            pending.append(row["flip"])
        for r in own:
            del r["flip"]
        out[row["pk"]] = ({"k": keys, "d": dict(counts), "rc": cause, "r": own},
                          min(pending) if pending else None)
    return out


# --- applying differences ----------------------------------------------------------------------
def _spread(data: dict[str, Any], sign: int, sums: dict[tuple[str, str, str], dict[str, int]],
            causes: Counter) -> None:
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
    """Add ``rows`` to the table's counters (insert, or add to the existing row): the same
    ``INSERT ... ON CONFLICT DO UPDATE`` statement on PostgreSQL and SQLite."""
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


def _write_facts(old: dict[int, Any], new: dict[int, tuple[dict[str, Any], datetime | None]],
                 now: datetime) -> None:
    """Replace the facts of the cases in ``old`` and ``new``. PostgreSQL: DELETE and COPY
    (bulk_create's parameter binding took 4 of 7.5 s for 10,000 facts)."""
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


def _apply(case_ids: set[int], now: datetime) -> int:
    """Recompute the facts of ``case_ids`` and add new minus old to the sums. Returns the
    number of cases whose counts changed."""
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
    _write_facts(old, new, now)
    return changed


# --- refreshing --------------------------------------------------------------------------------
@dataclass
class RefreshResult:
    cases: int = 0
    changed: int = 0
    batches: int = 0
    rebuilt: bool = False
    current: bool = False


def _locked_state() -> KpiSummaryState:
    state = KpiSummaryState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        KpiSummaryState.objects.get_or_create(pk=1)
        state = KpiSummaryState.objects.select_for_update().get(pk=1)
    return state


def _is_built_for_now(state: KpiSummaryState) -> bool:
    return state.time_zone == settings.TIME_ZONE and state.version == SUMMARY_VERSION


def _reset(state: KpiSummaryState) -> None:
    """Start over (first run, time zone or definitions changed): empty sums, every case
    queued."""
    models = (KpiDaySum, RootCauseDaySum, CaseKpiFact, KpiQueue)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE leaves no million dead rows behind; writers' triggers wait for the
            # commit (seconds) and then queue into the new queue.
            cursor.execute("TRUNCATE " + ", ".join(m._meta.db_table for m in models))
        else:
            for model in models:
                model.objects.all().delete()
        cursor.execute("INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM cases_case")
    state.time_zone, state.version, state.as_of = settings.TIME_ZONE, SUMMARY_VERSION, None
    state.save()


def _batch(now: datetime, size: int) -> tuple[int, int]:
    """One batch: the oldest queued cases, topped up with flipped ones. Returns (cases
    computed, cases whose counts changed)."""
    queued = list(KpiQueue.objects.order_by("id").values_list("id", "case_id")[:size])
    ids = {case_id for _, case_id in queued}
    if len(ids) < size:
        ids.update(CaseKpiFact.objects.filter(next_flip_at__lte=now).order_by()
                   .values_list("case_id", flat=True)[:size - len(ids)])
    if not ids:
        return 0, 0
    changed = _apply(ids, now)
    if queued:
        KpiQueue.objects.filter(id__in=[pk for pk, _ in queued]).delete()
    return len(ids), changed


def pending(now: datetime, limit: int) -> int:
    """Queued plus flipped cases, counted up to ``limit`` (cheap however long the queue)."""
    queued = KpiQueue.objects.order_by()[:limit].count()
    flipped = CaseKpiFact.objects.filter(next_flip_at__lte=now).order_by()[:limit].count()
    return queued + flipped


def refresh(*, now: datetime | None = None, max_cases: int | None = None,
            max_seconds: float | None = None, batch: int = BATCH) -> RefreshResult:
    """Bring the sums up to date at ``now``, one transaction per batch of cases (the state
    row's lock keeps two refreshes from applying the same difference twice). Stops after
    ``max_cases`` cases or ``max_seconds`` when given (what is done stays done; the next
    refresh goes on); ``current`` tells whether nothing is left."""
    now = now or timezone.now()
    started = time.monotonic()
    result = RefreshResult()
    while True:
        with transaction.atomic():
            state = _locked_state()
            if not _is_built_for_now(state):
                _reset(state)
                result.rebuilt = True
            done, changed = _batch(now, batch)
            if not done:
                result.current = True
                return result
            # The latest moment facts were computed for: a reader at an earlier moment
            # cannot use them (a running clock may already count as late).
            if state.as_of is None or state.as_of < now:
                state.as_of = now
                state.save(update_fields=["as_of"])
            result.cases += done
            result.changed += changed
            result.batches += 1
        if max_cases is not None and result.cases >= max_cases:
            return result
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return result


def rebuild(*, now: datetime | None = None, batch: int = 10_000) -> RefreshResult:
    """Recompute every case from scratch (after a restore, or to be sure)."""
    with transaction.atomic():
        _reset(_locked_state())
    result = refresh(now=now, batch=batch)
    result.rebuilt = True
    _analyze()
    return result


def _analyze() -> None:
    """Fresh planner statistics after a bulk change (PostgreSQL; VACUUM only outside a
    transaction): with stale ones a flip lookup scanned the million facts (250 ms)."""
    if connection.vendor != "postgresql":
        return
    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for model in (KpiDaySum, RootCauseDaySum, CaseKpiFact, KpiQueue):
            cursor.execute(f"{verb} {model._meta.db_table}")


def catch_up(now: datetime) -> bool:
    """Before a read: refresh what changed since the last refresh if it is little, and tell
    whether the sums are exact at ``now``. False (compute live) while a large backlog waits
    for the beat task, or when ``now`` lies before the time the sums were brought to.
    Nothing changed: three small reads and no write."""
    from cases.models import Case

    state = KpiSummaryState.objects.filter(pk=1).first()
    if state is None or not _is_built_for_now(state):
        # Building from scratch in a request only for a small desk; else beat builds it.
        if Case.objects.order_by()[:INLINE_MAX + 1].count() > INLINE_MAX:
            return False
    elif state.as_of is not None and now < state.as_of - CLOCK_SKEW:
        return False
    else:
        waiting = pending(now, INLINE_MAX + 1)
        if waiting == 0:
            return True
        if waiting > INLINE_MAX:
            return False
    return refresh(now=now, max_cases=INLINE_MAX).current


# --- reading -----------------------------------------------------------------------------------
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
    out = {}
    for column in COLUMNS:
        value = row[column] or 0
        if column in _DURATION_COLUMNS:
            value = timedelta(microseconds=value)
        out[_SUM_KEY[column]] = value
    return out


def _aggregates() -> dict[str, Sum]:
    return {column: Sum(column) for column in COLUMNS}


def _key(dim: str, key: str) -> Any:
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


# --- checking ----------------------------------------------------------------------------------
def _norm(sums: dict[str, Any]) -> dict[str, int]:
    return {name: _micro(value) for name, value in sums.items() if value}


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
