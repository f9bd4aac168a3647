"""Plain INSERTs of model instances, and plain reads, for the intake hot path.

Why: the intake writes five rows per complaint. Through ``save()``/``create()``/
``bulk_create()`` the ORM rebuilds and recompiles the INSERT statement on every call, which
cost more CPU than PostgreSQL spent executing it (about a fifth of the API's time per
request). Here the statement text is built once per model and connection vendor, and each
value is prepared exactly as the ORM prepares it (``Field.pre_save`` for ``auto_now_add``
and friends, then ``Field.get_db_prep_save``), so the stored row is the same.

On PostgreSQL these statements use server-side parameter binding and are prepared once per
connection (psycopg keeps up to ``prepared_max`` of them; Django leaves psycopg's automatic
preparation off, so this cursor asks for it), and the server stops
re-planning the same INSERT/SELECT on every complaint: planning was most of PostgreSQL's
CPU per statement (0.17 ms -> 0.03 ms per matter read measured on cases_case with its
then 34 indexes). The rest of the project keeps Django's default client-side binding; the
statements still go through Django's cursor wrapper, so they are logged and counted
(CaptureQueriesContext) like any other query.

The reads (``select``) are for the few fixed lookups of intake; ``db_datetime`` and
``python_datetime`` do the one conversion the ORM would (SQLite stores datetimes as text).

What ``insert`` does not do: no ``save()`` override and no ``pre_save``/``post_save`` signals run.
Only use it for models that have neither; ``tests/test_api_fast_lane.py`` checks that for
every model passed here (``WRITTEN_MODELS``), so adding a signal receiver or a ``save()``
override to one of them fails a test instead of being skipped silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Models written through this module (checked by a test: no save() override, no signals).
WRITTEN_MODELS: list[type[models.Model]] = []


@dataclass(frozen=True)
class _Plan:
    table: str
    columns: str
    placeholders: str
    fields: tuple[models.Field, ...]
    pk_column: str
    returning: str
    # Per field: the Python type whose values the field passes to the database unchanged
    # (None: always prepare the value through the field).
    plain: tuple[type | tuple[type, ...] | None, ...] = ()
    # Per field: its attname when ``pre_save`` is Django's plain read of the attribute
    # (None: call the field's own ``pre_save``, e.g. auto_now_add).
    attnames: tuple[str | None, ...] = ()


# Field classes whose get_db_prep_save returns a value of these types unchanged (str for the
# text fields, int for the integer fields and foreign keys to integer keys, bool).
_PLAIN_TYPES: tuple[tuple[type[models.Field], type | tuple[type, ...]], ...] = (
    (models.BooleanField, bool),
    (models.CharField, str),
    (models.TextField, str),
    (models.IntegerField, int),  # and the Small/Big/Positive variants
    (models.AutoField, int),
    (models.BigAutoField, int),
)


def _plain_type(field: models.Field, connection: BaseDatabaseWrapper) -> Any:
    if type(field).get_db_prep_save is not models.Field.get_db_prep_save:
        return None  # a field with its own saving logic (ForeignKey, JSONField, ...)
    if isinstance(field, models.DateTimeField):
        # PostgreSQL takes an aware datetime as it is; SQLite needs Django's text form.
        return dt.datetime if connection.vendor == "postgresql" else None
    for field_class, python_type in _PLAIN_TYPES:
        if type(field) is field_class or (
            isinstance(field, field_class) and type(field).__module__.startswith("django.")
            and type(field).get_db_prep_value is field_class.get_db_prep_value
            and type(field).get_prep_value is field_class.get_prep_value
        ):
            return python_type
    return None


_plans: dict[tuple[type[models.Model], str, bool], _Plan] = {}


def _plan(model: type[models.Model], connection: BaseDatabaseWrapper, with_pk: bool) -> _Plan:
    key = (model, connection.vendor, with_pk)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    meta = model._meta
    pk = meta.pk
    fields = tuple(
        f for f in meta.local_concrete_fields
        if not getattr(f, "generated", False) and (with_pk or f is not pk)
    )
    qn = connection.ops.quote_name
    returning = ""
    if not with_pk and connection.features.can_return_columns_from_insert:
        returning = f" RETURNING {qn(pk.column)}"
    plan = _Plan(
        table=qn(meta.db_table),
        columns=", ".join(qn(f.column) for f in fields),
        placeholders="(" + ", ".join(["%s"] * len(fields)) + ")",
        fields=fields,
        pk_column=pk.column,
        returning=returning,
        plain=tuple(_plain_type(f, connection) for f in fields),
        attnames=tuple(f.attname if _plain_pre_save(f) else None for f in fields),
    )
    _plans[key] = plan
    return plan


@contextmanager
def _cursor(connection: BaseDatabaseWrapper, *, prepare: bool = True) -> Iterator[Any]:
    """A Django cursor; on PostgreSQL one with server-side binding (see the module doc).
    Mirrors ``BaseDatabaseWrapper._cursor`` and the PostgreSQL ``create_cursor``. The
    psycopg cursor underneath is kept per connection and reused (creating one per statement
    was a few percent of an API request); each use gets Django's wrapper anew, so it is
    logged and counted like any query."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _raw_cursor(connection)
        # Off behind a pooler that does not keep sessions (PgBouncer transaction pooling).
        raw.prepare_statements = prepare and settings.INTAKE_PREPARED_STATEMENTS
        connection.validate_thread_sharing()
    if connection.queries_logged:
        yield _debug_wrapper()(raw, connection)
    else:
        yield connection.make_cursor(raw)


def _raw_cursor(connection: BaseDatabaseWrapper) -> Any:
    """This connection's preparing psycopg cursor (a new one after a reconnect)."""
    global _PreparingCursor
    conn = connection.connection
    kept = connection.__dict__.get("_intake_raw_cursor")
    if kept is not None and kept[0] is conn and not kept[1].closed:
        return kept[1]
    if _PreparingCursor is None:
        _PreparingCursor = _preparing_cursor_class()
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    if conn.prepare_threshold is None:
        # Django turns preparation off (None), which refuses even prepare=True. Django's own
        # cursors bind client-side and never prepare, so this changes nothing for them; a
        # threshold nothing reaches means only this cursor's statements are.
        conn.prepare_threshold = 2**31
    raw = _PreparingCursor(conn)
    loader = conn.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, raw)
    connection.__dict__["_intake_raw_cursor"] = (conn, raw)
    return raw


_TIMESTAMPTZ_OID = 1184
_PreparingCursor: Any = None


def _preparing_cursor_class() -> Any:
    """A psycopg cursor that prepares its statements and converts each statement text's
    placeholders once per process. psycopg re-parses (``%s`` -> ``$n``) every statement
    longer than 4 KiB or with more than 50 parameters on each execution (its cache is sized
    for ORM-generated queries of unbounded variety); intake's one INSERT statement is both,
    and parsing it again cost about a tenth of an API request's CPU. Our statement texts are
    few and fixed (built from ``_meta``, NULL patterns capped at 512), so they are all
    cached. Falls back to psycopg's own conversion if its internals move."""
    import functools

    import psycopg
    from psycopg import _queries

    convert_text = getattr(_queries, "_query2pg_nocache", None)
    base = getattr(_queries, "PostgresQuery", None)

    class PreparingCursor(psycopg.Cursor):
        prepare_statements = True

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs.setdefault("prepare", self.prepare_statements)
            return super().execute(query, params, **kwargs)

    if convert_text is None or base is None or not hasattr(psycopg.Cursor, "_query_cls"):
        return PreparingCursor

    @functools.lru_cache(maxsize=1024)
    def converted(query: str, encoding: str) -> Any:
        return convert_text(query.encode(encoding), encoding)

    class KnownQuery(base):  # type: ignore[misc, valid-type]
        __slots__ = ()

        def convert(self, query: Any, vars: Any) -> None:
            if vars is None or type(query) is not str:
                return super().convert(query, vars)
            (self.query, self._want_formats, self._order,
             self._parts) = converted(query, self._tx.encoding)
            self.dump(vars)
            return None

    PreparingCursor._query_cls = KnownQuery
    return PreparingCursor


def _debug_wrapper() -> Any:
    """Django's debug cursor reads the executed SQL back from psycopg, which keeps none for
    a prepared statement; this one logs the statement with its values composed in."""
    from django.db.backends.utils import CursorDebugWrapper

    class PreparedDebugWrapper(CursorDebugWrapper):
        def execute(self, sql: str, params: Any = None) -> Any:
            try:
                shown = self.db.ops.compose_sql(sql, params)
            except Exception:  # noqa: BLE001 - logging must not fail the query
                shown = sql
            with self.debug_sql(shown, params, use_last_executed_query=False):
                return self._execute_with_wrappers(
                    sql, params, many=False, executor=self._execute)

    return PreparedDebugWrapper


def _plain_pre_save(field: models.Field) -> bool:
    """Does ``field.pre_save`` only read the attribute (``Field.pre_save``)? Date fields with
    ``auto_now``/``auto_now_add`` and fields with their own ``pre_save`` do more."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    return type(field).pre_save in (models.Field.pre_save, models.DateTimeField.pre_save,
                                    models.DateField.pre_save)


def _params(plan: _Plan, obj: models.Model, connection: BaseDatabaseWrapper) -> list:
    """Each value as the ORM would send it: ``pre_save`` (auto_now_add, ...), then
    ``get_db_prep_save``, which for plain str/int/bool columns (and aware datetimes on
    PostgreSQL) returns the value unchanged, so those skip the call (as a plain attribute
    read skips ``pre_save``)."""
    values = []
    state = obj.__dict__
    for field, plain, attname in zip(plan.fields, plan.plain, plan.attnames, strict=True):
        value = state[attname] if attname is not None and attname in state else (
            field.pre_save(obj, True))
        if value is None or (
            plain is not None and type(value) in (plain if isinstance(plain, tuple) else (plain,))
            and (plain is not dt.datetime or value.tzinfo is not None)
        ):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, connection))
    return values


def _mark_saved(obj: models.Model, alias: str) -> None:
    obj._state.adding = False
    obj._state.db = alias


def insert(obj: models.Model, *, using: str = "default") -> None:
    """INSERT one row and set ``obj.pk`` (an explicit pk is inserted as given).

    NULLs are written into the statement text rather than sent as parameters: a new case
    has dozens of empty clock columns, and psycopg caches a statement's conversion only up
    to 50 parameters. The NULL pattern of a new row varies little, so few texts result."""
    connection = connections[using]
    with_pk = obj.pk is not None
    plan = _plan(type(obj), connection, with_pk)
    values = _params(plan, obj, connection)
    nulls = tuple(v is None for v in values)
    # Plans live as long as the process, so their ids stay theirs.
    sql = statement(("insert", id(plan), nulls),
                    lambda: _values_text(plan, [nulls]) + plan.returning, using=using)
    with _cursor(connection) as cursor:
        cursor.execute(sql, [v for v in values if v is not None])
        if not with_pk:
            if plan.returning:
                obj.pk = cursor.fetchone()[0]
            else:
                obj.pk = connection.ops.last_insert_id(
                    cursor, type(obj)._meta.db_table, plan.pk_column)
    _mark_saved(obj, using)


def insert_many(objs: Sequence[models.Model], *, using: str = "default") -> None:
    """INSERT rows of one model in one statement; their primary keys are not read back
    (like ``bulk_create`` on backends that cannot return them)."""
    if not objs:
        return
    connection = connections[using]
    plan = _plan(type(objs[0]), connection, False)
    sql = (f"INSERT INTO {plan.table} ({plan.columns}) "  # noqa: S608 - names from _meta
           f"VALUES {', '.join([plan.placeholders] * len(objs))}")
    params: list = []
    for obj in objs:
        params.extend(_params(plan, obj, connection))
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
    for obj in objs:
        _mark_saved(obj, using)


def new(model: type[models.Model], **values: Any) -> models.Model:
    """``model(**values)`` for the hot path: the same unsaved instance (every field's
    default, the given values, a foreign key given as an instance cached on it), built from
    a per-model recipe instead of ``Model.__init__``'s per-field descriptor walk (a new
    case, its clocks, transition and notice spent ~5 % of an API request there). Values are
    field names or attnames, as for the constructor. Falls back to the constructor when
    anything listens to the model's pre_init/post_init signals, or for a name it does not
    know (which the constructor then refuses)."""
    from django.db.models import signals

    recipe = _recipes.get(model)
    if recipe is None:
        recipe = _recipes[model] = _recipe(model)
    statics, callables, relations, known = recipe
    if (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
            or not known.issuperset(values)):
        return model(**values)
    obj = model.__new__(model)
    state = obj._state = models.base.ModelState()
    attrs = obj.__dict__
    attrs.update(statics)
    for attname, field in callables:
        attrs[attname] = field.get_default()
    for name, value in values.items():
        relation = relations.get(name)
        if relation is None:
            attrs[name] = value
            continue
        attname, target = relation
        attrs[attname] = None if value is None else getattr(value, target)
        state.fields_cache[name] = value
    return obj


_recipes: dict[type[models.Model], tuple] = {}


def _recipe(model: type[models.Model]) -> tuple:
    statics: dict[str, Any] = {}
    callables: list[tuple[str, models.Field]] = []
    relations: dict[str, tuple[str, str]] = {}
    known: set[str] = set()
    for field in model._meta.concrete_fields:
        known.update((field.name, field.attname))
        if (field.has_default() and callable(field.default)) or (
                field.db_default is not models.NOT_PROVIDED):
            callables.append((field.attname, field))
        else:
            statics[field.attname] = field.get_default()
        if field.is_relation and field.many_to_one:
            relations[field.name] = (field.attname, field.target_field.attname)
    return statics, tuple(callables), relations, frozenset(known)


def insert_chain(groups: Sequence[Sequence[models.Model]], *,
                 also: Sequence[tuple[str, Sequence[Any]]] = (), using: str = "default") -> None:
    """INSERT several groups of rows (each group: rows of one model) as one statement where
    the database can (PostgreSQL: data-modifying CTEs), else one statement per group.

    Every row but the last group's must come with its primary key set, or not need it read
    back (like ``insert_many``); a last group of one row without a key gets its key. The
    rows of a chain may refer to each other: Django's foreign keys on PostgreSQL are checked
    at commit (DEFERRABLE INITIALLY DEFERRED), so the order inside the statement does not
    matter. ``also``: other data-modifying statements (sql, params) to run with them (a
    group's count). Why: intake writes its case, clocks, transition, notes and
    acknowledgement in one round trip instead of four (each costs the client and the server
    a parse/bind/execute)."""
    groups = [list(g) for g in groups if g]
    if not groups:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        for sql, params in also:
            with _cursor(connection) as cursor:
                cursor.execute(sql, params)
        for group in groups:
            if len(group) == 1 and (group is groups[-1] or group[0].pk is not None):
                insert(group[0], using=using)
            else:
                insert_many(group, using=using)
        return
    params = [value for _sql, values in also for value in values]
    last = groups[-1]
    read_pk = len(last) == 1 and last[0].pk is None
    shapes = []  # per group: its plan and each row's NULL pattern (what the text depends on)
    for group in groups:
        plan = _plan(type(group[0]), connection, group[0].pk is not None)
        nulls = []
        for obj in group:
            values = _params(plan, obj, connection)
            nulls.append(tuple(v is None for v in values))
            params.extend(v for v in values if v is not None)
        shapes.append((plan, tuple(nulls)))
    texts = [sql for sql, _params in also]
    key = ("chain", tuple(texts), tuple((id(p), n) for p, n in shapes), read_pk)
    sql = statement(key, lambda: _chain_text(texts, shapes, read_pk), using=using)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        if read_pk:
            last[0].pk = cursor.fetchone()[0]
    for group in groups:
        for obj in group:
            _mark_saved(obj, using)


_statements: dict[tuple, str] = {}


def statement(key: tuple, build: Any, *, using: str = "default") -> str:
    """The SQL text ``build()`` returns, built once per process, database vendor and ``key``
    (the hot path's fixed statements are otherwise re-quoted and re-joined on every call)."""
    full_key = (connections[using].vendor, *key)
    sql = _statements.get(full_key)
    if sql is None:
        sql = build()
        if len(_statements) < 512:
            _statements[full_key] = sql
    return sql


def _values_text(plan: _Plan, rows: Sequence[tuple[bool, ...]]) -> str:
    """``INSERT INTO t (cols) VALUES (...), ...`` for rows of these NULL patterns: NULLs are
    written into the text, the other values are parameters."""
    tuples = ", ".join("(" + ", ".join("NULL" if null else "%s" for null in nulls) + ")"
                       for nulls in rows)
    return f"INSERT INTO {plan.table} ({plan.columns}) VALUES {tuples}"  # noqa: S608 - _meta


def _chain_text(also: list[str], shapes: list[tuple[_Plan, tuple[tuple[bool, ...], ...]]],
                read_pk: bool) -> str:
    parts = [*also, *(_values_text(plan, nulls) for plan, nulls in shapes)]
    main = parts.pop()
    if read_pk:
        main += shapes[-1][0].returning
    ctes = ", ".join(f"_w{i} AS ({part})" for i, part in enumerate(parts))
    return f"WITH {ctes} {main}" if ctes else main


def table(model: type[models.Model], *, using: str = "default") -> str:
    return connections[using].ops.quote_name(model._meta.db_table)


def columns(model: type[models.Model], *names: str, using: str = "default") -> str:
    """Quoted column names of ``model``'s fields (``"pk"`` and FK names work)."""
    qn = connections[using].ops.quote_name
    meta = model._meta
    return ", ".join(qn(meta.pk.column if n == "pk" else meta.get_field(n).column)
                     for n in names)


def select(sql: str, params: Sequence[Any], *, using: str = "default",
           prepare: bool = True, checks_connection: bool = False) -> list[tuple]:
    """Rows of a plain SELECT. ``prepare=False`` for a query whose best plan depends on its
    values: a prepared statement soon runs on PostgreSQL's generic plan, which cannot see
    that one order reference has two cases and another two thousand.

    ``checks_connection``: this read (one that may run twice: it changes nothing) is the
    request's first use of a reused connection and stands in for Django's health check
    (``CONN_HEALTH_CHECKS``: a ``SELECT 1`` before it, a round trip on every API request).
    If the connection turns out dead, it is closed and the read runs once more on a new
    one, which is what the health check would have done."""
    connection = connections[using]
    if checks_connection and getattr(connection, _FIRST_IN_TRANSACTION, False):
        setattr(connection, _FIRST_IN_TRANSACTION, False)
        try:
            return _fetch(connection, sql, params, prepare)
        except (OperationalError, InterfaceError) as exc:
            raw = connection.connection
            if raw is not None and not raw.closed and not getattr(raw, "broken", False):
                raise  # the statement failed, not the connection
            raise _DeadOnFirstUse from exc
    if checks_connection and _health_check_deferred(connection):
        try:
            return _fetch(connection, sql, params, prepare)
        except (OperationalError, InterfaceError):
            connection.close()
    return _fetch(connection, sql, params, prepare)


T = TypeVar("T")
_FIRST_IN_TRANSACTION = "_rows_first_in_transaction"


class _DeadOnFirstUse(Exception):
    """A transaction's first statement found its reused connection dead."""


def atomic_checking_connection(work: Callable[[], T], *, using: str = "default") -> T:
    """``work()`` in a transaction whose first statement (a ``select`` with
    ``checks_connection``) stands in for Django's health check of a reused connection,
    as ``select`` does outside one: entering a transaction would otherwise send a
    ``SELECT 1`` first. If that statement finds the connection dead, the transaction is
    abandoned (nothing was done in it), the connection replaced, and ``work`` run again."""
    connection = connections[using]
    if connection.in_atomic_block or not _health_check_deferred(connection):
        with transaction.atomic(using=using):
            return work()
    setattr(connection, _FIRST_IN_TRANSACTION, True)
    try:
        with transaction.atomic(using=using):
            return work()
    except _DeadOnFirstUse:
        pass  # leaving the block, the failed rollback closed the connection
    finally:
        setattr(connection, _FIRST_IN_TRANSACTION, False)
    connection.close()
    with transaction.atomic(using=using):
        return work()


def _fetch(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any],
           prepare: bool) -> list[tuple]:
    with _cursor(connection, prepare=prepare) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _health_check_deferred(connection: BaseDatabaseWrapper) -> bool:
    """Take over this request's health check of a reused connection (outside a
    transaction only: there a failed statement could not simply be repeated)."""
    if (connection.connection is None or not connection.health_check_enabled
            or connection.health_check_done or connection.in_atomic_block):
        return False
    connection.health_check_done = True
    return True


def fetch_models(model: type[models.Model], sql: str, params: Sequence[Any],
                 extra: int = 0, *, using: str = "default") -> list[tuple[models.Model, tuple]]:
    """Instances of ``model`` from a plain SELECT whose first columns are all of the model's
    concrete fields in ``_meta`` order, each with the ``extra`` columns that follow them:
    [(instance, extras)]. Values go through the same converters as the ORM's own reads
    (SQLite's text datetimes, JSON, decimals), worked out once per model and vendor: a
    RawQuerySet re-derives its column mapping on every call, a quarter of an API retry."""
    connection = connections[using]
    key = (model, connection.vendor)
    found = _readers.get(key)
    if found is None:
        fields = model._meta.concrete_fields
        attnames = tuple(f.attname for f in fields)
        converters = []
        for i, f in enumerate(fields):
            col = f.get_col(model._meta.db_table)
            funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if funcs:
                converters.append((i, funcs, col))
        found = _readers[key] = (attnames, tuple(converters))
    attnames, converters = found
    width = len(attnames)
    result = []
    for row in select(sql, params, using=using):
        values = list(row[:width])
        for i, funcs, col in converters:
            for func in funcs:
                values[i] = func(values[i], col, connection)
        result.append((model.from_db(using, attnames, values), tuple(row[width:width + extra])))
    return result


_readers: dict[tuple, tuple] = {}


def db_datetime(value: dt.datetime, *, using: str = "default") -> Any:
    """A datetime as a query parameter, as the ORM passes it (naive UTC text on SQLite)."""
    return connections[using].ops.adapt_datetimefield_value(value)


def python_datetime(value: Any) -> dt.datetime | None:
    """A datetime column's value as an aware datetime (SQLite returns text)."""
    if value is None or isinstance(value, dt.datetime):
        if value is not None and timezone.is_naive(value):
            return timezone.make_aware(value, dt.UTC)
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def register(*written: type[models.Model]) -> None:
    for model in written:
        if model not in WRITTEN_MODELS:
            WRITTEN_MODELS.append(model)


__all__ = ["WRITTEN_MODELS", "columns", "db_datetime", "fetch_models", "insert", "insert_chain",
           "insert_many", "new", "python_datetime", "register", "select", "statement", "table"]
