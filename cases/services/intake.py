"""The one intake path every channel calls: customer, case, tier suggestion, clocks,
duplicate and group detection, and the acknowledgement notice.

Intake is the hot path of the complaint hub (API bursts, bulk imports), so it is written to
a fixed query budget. On PostgreSQL: one read of the customer, the case a retried
external_id already has, the settings, SLA policies, new ids and notice templates
(``_read_together``); the matter read (0-1); one INSERT statement for the customer, case,
clocks, transition, notes and acknowledgement, with the count of a group the case joins
(``rows.insert_chain``); no BEGIN/COMMIT: 2-3 statements. A retry costs 2 reads and writes
nothing; the create that forms a group complaint costs 9, in a transaction. SQLite writes
one statement per table (9-11; 16 forming a group). Tests hold these figures.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import (
    AGENT_LOGGED_CHANNELS,
    Category,
    ChannelKind,
    Clock,
    ContactChannel,
    Difficulty,
    NoteKind,
    Scope,
    Urgency,
)
from cases.models import (
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    Customer,
    DeskSettings,
    Notice,
    NoticeTemplate,
    SlaPolicy,
    User,
)
from cases.models.notices import NoticeKind
from cases.notice_texts import TEMPLATE_FIELDS, TemplateCache, template_keys
from cases.services import clocks, grouping, rows
from cases.services.errors import InvalidInput
from cases.services.lifecycle import suggest_tier
from cases.services.notices import delivery_for, notice_build, notice_dispatch_after_commit

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-()]{2,30}$")
# PostgreSQL refuses NUL in text and psycopg refuses lone surrogates: never let them reach SQL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
LANGUAGES = ("zh-hans", "en")


def new_tracking_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def format_reference(case_id: int, received_at: datetime) -> str:
    year = timezone.localtime(received_at).year
    return f"TS-{year}-{case_id:06d}"


def clean_text(value: object) -> str:
    """Text as it may be stored: a string without NUL or lone surrogates."""
    if value is None:
        return ""
    return _UNSTORABLE.sub("", str(value))


def normalise_phone(phone: str) -> str:
    """Phones are matched as typed minus spacing: '138 0013 8000' is '13800138000'."""
    return re.sub(r"[\s\-()]", "", phone)


@dataclass
class CustomerData:
    name: str
    phone: str = ""
    email: str = ""
    preferred_channel: str = ContactChannel.SMS
    is_key_customer: bool = False
    language: str = "zh-hans"


@dataclass
class IntakeData:
    """What every channel hands to ``case_intake`` (already validated for shape by the
    channel; the domain rules are checked here)."""

    customer: CustomerData
    channel: str
    category: str
    subject: str
    description: str
    source_id: int | None = None
    external_id: str = ""
    occurred_at: datetime | None = None
    received_at: datetime | None = None
    order_ref: str = ""
    location: str = ""
    desired_outcome: str = ""
    urgency: str = Urgency.ROUTINE
    scope: str = Scope.INDIVIDUAL
    difficulty: str = Difficulty.FRONTLINE
    extra_notes: list[str] = field(default_factory=list)
    # Send the acknowledgement (legacy imports were acknowledged by the old system).
    acknowledge: bool = True
    # When the deadline clocks start (default: received_at). Imports start them on arrival
    # in this desk: a case received years ago elsewhere is not breached the moment it lands.
    clocks_start_at: datetime | None = None


@dataclass
class IntakeResult:
    case: Case
    created: bool
    # The reference of the case this one duplicates, when intake knows it without a query
    # (it read it while detecting duplicates); None for a retry or no duplicate.
    duplicate_reference: str | None = None


MAX_LENGTHS = {
    "customer.name": 100, "customer.phone": 32, "customer.email": 254, "external_id": 120,
    "subject": 200, "order_ref": 64, "location": 100, "description": 50000,
    "desired_outcome": 5000,
}


def _clean(data: IntakeData) -> None:
    """Strip and sanitise every text field in place (channels pass what people typed)."""
    c = data.customer
    c.name = clean_text(c.name).strip()
    c.phone = normalise_phone(clean_text(c.phone).strip())
    c.email = clean_text(c.email).strip().lower()
    c.language = c.language if c.language in LANGUAGES else "zh-hans"
    for name in ("channel", "category", "subject", "description", "external_id", "order_ref",
                 "location", "desired_outcome", "urgency", "scope", "difficulty"):
        setattr(data, name, clean_text(getattr(data, name)).strip())
    data.subject = " ".join(data.subject.split())
    data.extra_notes = [clean_text(n).strip() for n in data.extra_notes if clean_text(n).strip()]
    for name in ("occurred_at", "received_at", "clocks_start_at"):
        value = getattr(data, name)
        if value is not None and timezone.is_naive(value):
            setattr(data, name, timezone.make_aware(value))


# The choices' values as sets, built once (``Choices.values`` builds a new list per call).
_CHOICES = {choices: frozenset(choices.values) for choices in
            (ContactChannel, ChannelKind, Category, Urgency, Scope, Difficulty)}


def _validate(data: IntakeData) -> None:
    errors: list[tuple[str, str]] = []
    c = data.customer
    if not c.name:
        errors.append(("customer.name", _("Enter the customer's name.")))
    if not (c.phone or c.email) and data.channel != ChannelKind.IMPORT:
        # Legacy records may lack contact data; every live channel must let us answer.
        errors.append(("customer.phone", _("Give a phone number or an email address.")))
    if c.phone and not _PHONE_RE.match(c.phone):
        errors.append(("customer.phone", _("Enter a valid phone number.")))
    if c.email:
        try:
            validate_email(c.email)
        except ValidationError:
            errors.append(("customer.email", _("Enter a valid email address.")))
    if c.preferred_channel not in _CHOICES[ContactChannel]:
        errors.append(("customer.preferred_channel", _("Unknown contact channel.")))
    if data.channel not in _CHOICES[ChannelKind]:
        errors.append(("channel", _("Unknown channel.")))
    if data.category not in _CHOICES[Category]:
        errors.append(("category", _("Unknown category.")))
    if not data.subject:
        errors.append(("subject", _("Enter a subject.")))
    if not data.description:
        errors.append(("description", _("Describe the complaint.")))
    if data.urgency not in _CHOICES[Urgency]:
        errors.append(("urgency", _("Unknown urgency.")))
    if data.scope not in _CHOICES[Scope]:
        errors.append(("scope", _("Unknown impact scope.")))
    if data.difficulty not in _CHOICES[Difficulty]:
        errors.append(("difficulty", _("Unknown difficulty.")))
    values = {"customer.name": c.name, "customer.phone": c.phone, "customer.email": c.email,
              "external_id": data.external_id, "subject": data.subject,
              "order_ref": data.order_ref, "location": data.location,
              "description": data.description, "desired_outcome": data.desired_outcome}
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            errors.append((name, _("At most %(limit)d characters.") % {"limit": limit}))
    now = timezone.now()
    if data.occurred_at and data.occurred_at > now + timedelta(minutes=5):
        errors.append(("occurred_at", _("The time it happened is in the future.")))
    if data.received_at and data.received_at > now + timedelta(minutes=5):
        errors.append(("received_at", _("The time it was received is in the future.")))
    if data.occurred_at and data.occurred_at.year < 1970:
        errors.append(("occurred_at", _("The time it happened is too far in the past.")))
    if errors:
        error = InvalidInput(errors[0][1], field=errors[0][0])
        error.errors = errors  # type: ignore[attr-defined]
        raise error


def validate_intake(data: IntakeData) -> None:
    """Clean and check ``data`` without touching the database (dry runs, channel forms).
    Raises InvalidInput with ``errors`` [(field, message), ...]."""
    _clean(data)
    _validate(data)


def customer_match(data: CustomerData, candidates: list[Customer],
                   ) -> tuple[Customer, bool, list[str]]:
    """(customer, is new, changed fields) without writing: among ``candidates`` (the
    customers with this phone or e-mail, read by the lookup), the one with the phone, else
    the one with the e-mail, with missing contact data filled in; else an unsaved new one."""
    phone, email = data.phone, data.email.lower()
    customer = next((c for c in candidates if phone and c.phone == phone), None) or next(
        (c for c in candidates if email and c.email.lower() == email), None
    )
    if customer is None:
        return Customer(
            name=data.name[:100], phone=phone, email=email,
            preferred_channel=data.preferred_channel, is_key_customer=data.is_key_customer,
            language=data.language,
        ), True, []
    changed = []
    for attr, value in (("phone", phone), ("email", email)):
        if value and not getattr(customer, attr):
            setattr(customer, attr, value)
            changed.append(attr)
    if data.is_key_customer and not customer.is_key_customer:
        customer.is_key_customer = True
        changed.append("is_key_customer")
    return customer, False, changed


# Every Customer column except created_at (intake never reads it; it stays deferred).
_CUSTOMER_FIELDS = ("id", "name", "phone", "email", "preferred_channel", "wechat_openid",
                    "is_key_customer", "language")


def _customers_with(phone: str, email: str) -> list[Customer]:
    """Customers with this phone or e-mail, oldest first (at most 20), as plain SQL: the ORM
    compiled this query on every complaint for more CPU than the database spent on it."""
    by = tuple(name for name, value in (("phone", phone), ("email", email)) if value)
    if not by:
        return []
    params = [value for value in (phone, email) if value]
    sql = rows.statement(("customers-with", by), lambda: _customers_sql(by))
    return [_customer_from_row(row) for row in rows.select(sql, params)]


def _customers_sql(by: tuple[str, ...]) -> str:
    where = " OR ".join(f"{rows.columns(Customer, name)} = %s" for name in by)
    return (f"SELECT {rows.columns(Customer, *_CUSTOMER_FIELDS)} "  # noqa: S608 - _meta
            f"FROM {rows.table(Customer)} WHERE {where} "
            f"ORDER BY {rows.columns(Customer, 'id')} LIMIT 20")


def _retry_scalar() -> str:
    """The id of the case a (source, external_id) already has, as a scalar subquery."""
    qn = connection.ops.quote_name
    case_id, source, ext = (qn(Case._meta.get_field(n).column)
                            for n in ("id", "source", "external_id"))
    # "<> ''" lets a prepared (generic) plan use the partial unique index.
    return (f"(SELECT e.{case_id} FROM {rows.table(Case)} e WHERE e.{source} = %s "
            f"AND e.{ext} = %s AND e.{ext} <> '')")


def _lookup(data: IntakeData) -> tuple[list[Customer], int | None]:
    """Elsewhere than PostgreSQL (see ``_read_together``): (the customers with the
    complaint's phone or e-mail, oldest first, at most 20; the case this channel's
    ``external_id`` already has), in one query."""
    phone, email = data.customer.phone, data.customer.email
    if data.source_id is None or not data.external_id:
        return _customers_with(phone, email), None
    by = tuple(name for name, value in (("phone", phone), ("email", email)) if value)
    params = [data.source_id, data.external_id, *(v for v in (phone, email) if v)]
    found, existing = [], None
    for row in rows.select(rows.statement(("intake-lookup", by), lambda: _lookup_sql(by)),
                           params):
        existing = row[0]
        if row[1] is not None:
            found.append(_customer_from_row(row[1:]))
    return found, existing


def _lookup_sql(by: tuple[str, ...]) -> str:
    if not by:
        return f"SELECT {_retry_scalar()}, {', '.join(['NULL'] * len(_CUSTOMER_FIELDS))}"
    qn = connection.ops.quote_name
    return (f"SELECT {_retry_scalar()}, c.* FROM (SELECT 1) one "  # noqa: S608 - _meta
            f"LEFT JOIN ({_customers_sql(by)}) c ON 1 = 1 ORDER BY c.{qn('id')}")


def _customer_from_row(row: tuple) -> Customer:
    values = list(row)
    values[6] = bool(values[6])  # SQLite returns 0/1
    return Customer.from_db("default", _CUSTOMER_FIELDS, values)


def find_existing(source_id: int | None, external_id: str) -> Case | None:
    if source_id is None or not external_id:
        return None
    return (
        Case.objects.select_related("customer")
        .filter(source_id=source_id, external_id=external_id)
        .first()
    )


def case_intake(*, actor: User | None, data: IntakeData) -> IntakeResult:
    """Create the case for a complaint from any channel, or return the existing one when a
    channel retries the same ``external_id``.

    Preconditions: ``data`` passed the channel's own shape checks. Raises InvalidInput (with
    ``errors``: a list of (field, message)) and changes nothing when the data is not a
    complaint we can take. Side effects: an acknowledgement notice is queued after commit.
    An agent logging a hotline or walk-in call owns the case and has responded already.

    Idempotency: one query reads the customer and the case a retried ``external_id``
    already has (a retry then writes nothing); the unique (source, external_id) constraint
    decides a race between two submissions: the loser rolls back and returns the first case.

    Transactions: a complaint that names a matter or a customer (nearly all) is created in
    one that holds their locks (``_takes_locks``), so concurrent complaints on one matter
    group and link, and one new customer's find one customer, as if they came one after
    the other. Else a create whose writes are one INSERT
    statement (PostgreSQL, no customer change; see ``_Draft.one_statement``) runs without
    one: at READ COMMITTED its reads get no less isolation than in a transaction (a
    snapshot per statement, no locks taken), and the statement is atomic by itself, so no
    half-written case is possible; that saves the BEGIN and COMMIT round trips. Other
    creates write in a transaction; inside a caller's transaction, or at a stricter
    isolation level, the whole create is one (a savepoint in the caller's).
    """
    _clean(data)
    _validate(data)
    try:
        if connection.in_atomic_block or not _read_committed():
            with transaction.atomic():
                return _intake(actor, data, in_transaction=True)
        if _takes_locks(data):
            return rows.atomic_checking_connection(
                lambda: _intake(actor, data, in_transaction=True))
        return _intake(actor, data, in_transaction=False)
    except IntegrityError:
        # A retry of the same submission (or a race between two of them): the first one won.
        existing = find_existing(data.source_id, data.external_id)
        if existing is None:
            raise
        return IntakeResult(existing, created=False)


def _intake(actor: User | None, data: IntakeData, *, in_transaction: bool) -> IntakeResult:
    if connection.vendor == "postgresql":
        prelude = _read_together(data)
        candidates, existing_id = prelude.customers, prelude.existing_id
        if existing_id is None and not candidates and prelude.locked:
            # That read's snapshot predates its locks: a complaint that held them may have
            # created this customer meanwhile, which a read now sees.
            candidates = _customers_with(data.customer.phone, data.customer.email)
    else:
        (candidates, existing_id), prelude = _lookup(data), None
    if existing_id is not None:
        return _existing_case(existing_id)  # a retry: nothing written
    draft = _prepare(actor, data, candidates, prelude)
    if in_transaction or draft.one_statement:
        return _write(draft)
    with transaction.atomic():
        return _write(draft)


def _takes_locks(data: IntakeData) -> bool:
    """Does the complaint take intake's locks (``_lock_keys``): does it name a matter (an
    order/product reference or a location) or a customer (a phone or an e-mail)? Then it
    is created in a transaction that holds them from before the reads they guard until the
    commit. Complaints arriving at the same moment on one matter are then grouped, and
    linked as duplicates, exactly as if they had come one after the other, and one new
    customer's complaints find one customer: without the locks, two that do not see each
    other could each miss the group or form one each, and one person's burst became
    several customers (and so a group complaint). PostgreSQL: advisory locks taken by the
    first read (``_read_together``); the reads after it get snapshots taken after them
    (``_intake`` reads the customers again when the first read found none). SQLite: its
    IMMEDIATE transactions let one writer in at a time. A bulk import takes none (see
    ``_read_together``)."""
    return bool(data.order_ref or data.location or data.customer.phone or data.customer.email)


def _lock_keys(data: IntakeData) -> tuple[tuple[str, ...], list[str]]:
    """Intake's advisory locks for the complaint: (the kinds, for the statement's shape;
    their parameters). Each is a text hashed to a 64-bit key; compared as the reads
    compare them (the matter's reference in any letter case, the e-mail in lower case), so
    spellings that read as one matter or one customer take one lock."""
    kinds: list[str] = []
    params: list[str] = []
    if data.order_ref or data.location:
        kind = "order" if data.order_ref else "location"
        kinds.append("matter")
        params += [f"intake-matter:{kind}:{data.category}:", data.order_ref or data.location]
    for kind, value in (("phone", data.customer.phone), ("email", data.customer.email)):
        if value:
            kinds.append(kind)
            params += [f"intake-customer:{kind}:", value]
    return tuple(kinds), params


_LOCK_TEXT = {"matter": "%s || UPPER(%s)", "phone": "%s || %s", "email": "%s || LOWER(%s)"}


def _locks_sql(kinds: tuple[str, ...]) -> str:
    """A scalar that takes the advisory locks (held until the transaction ends) in the
    order of their keys, so two complaints needing the same locks never wait on each other
    in a circle."""
    texts = ", ".join(_LOCK_TEXT[kind] for kind in kinds)
    return ("(SELECT count(*) FROM (SELECT pg_advisory_xact_lock(k) FROM (SELECT "
            f"hashtextextended(x, 0) AS k FROM unnest(ARRAY[{texts}]) AS x ORDER BY k) AS o) "
            "AS l)")


def _read_committed() -> bool:
    """Is the connection at PostgreSQL's default isolation, READ COMMITTED (each statement
    its own snapshot)? Under a stricter level an operator chose, a create reads and writes
    in one transaction. SQLite always writes in one (``_Draft.one_statement`` is false)."""
    if connection.vendor != "postgresql":
        return True
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    level = getattr(connection, "isolation_level", IsolationLevel.READ_COMMITTED)
    return level == IsolationLevel.READ_COMMITTED


_batch_settings: ContextVar[list | None] = ContextVar("intake_batch_settings", default=None)


@contextmanager
def settings_read_once() -> Iterator[None]:
    """Within this block, intake reads the desk settings and SLA policies once (bulk imports
    create thousands of cases in a few seconds; the settings do not change meanwhile)."""
    token = _batch_settings.set([])
    try:
        yield
    finally:
        _batch_settings.reset(token)


@dataclass
class _Prelude:
    """What intake reads before the matter: on PostgreSQL all of it in one statement
    (``_read_together``); elsewhere the lookup (``_lookup``) and the settings
    (``_read_prelude``)."""

    settings_row: DeskSettings
    policies: dict[int, SlaPolicy]
    # Drawn from the sequences on PostgreSQL (None elsewhere): the rows are then written
    # with their keys, the case's reference (derived from its id) with it, all in one
    # statement (``rows.insert_chain``). The customer's only when no customer matched.
    case_id: int | None = None
    customer_id: int | None = None
    # Every acknowledgement template (PostgreSQL; elsewhere render_notice reads them).
    templates: TemplateCache | None = None
    customers: list[Customer] = field(default_factory=list)
    existing_id: int | None = None  # the case a retried external_id already has
    locked: bool = False  # the read took intake's locks (``_takes_locks``)


_DESK_COLUMNS = ("duplicate_window_hours", "group_window_hours", "group_threshold")


def _nextval(model: type) -> str:
    meta = model._meta
    return f"nextval(pg_get_serial_sequence('{meta.db_table}', '{meta.pk.column}'))"


def _policy_attnames() -> list[str]:
    return [f.attname for f in SlaPolicy._meta.concrete_fields]


def _read_together(data: IntakeData) -> _Prelude:
    """PostgreSQL: everything intake reads before the matter, in one statement: the
    customers with the complaint's phone or e-mail (oldest first, at most 20), the case a
    retried external_id already has, the desk settings and the three SLA policies, the new
    case's id (and a new customer's, drawn only when no customer matched: only then is the
    customer new, see ``customer_match``) and every acknowledgement template (a handful;
    which one applies depends on the customer, unknown until this read).

    Raw SQL over the models' own table and column names: the ORM spent more time compiling
    such a query than the database spent running it, on the hottest path of the hub. Scalar
    subqueries without outer references run once per statement (InitPlans); the customers'
    CTE is read once for both its uses."""
    phone, email = data.customer.phone, data.customer.email
    by = tuple(name for name, value in (("phone", phone), ("email", email)) if value)
    memo = _batch_settings.get()
    read_policies = not memo
    check_retry = data.source_id is not None and bool(data.external_id)
    # Not in a bulk import (``settings_read_once``): its transaction spans a batch of rows,
    # whose locks, taken row after row, are not in one key order (another transaction
    # could wait on them in a circle); imports are not concurrent complaints anyway.
    locks, lock_params = _lock_keys(data) if memo is None else ((), [])
    shape = (read_policies, by, check_retry, data.acknowledge, locks)
    params: list = [value for value in (phone, email) if value]
    if check_retry:
        params += [data.source_id, data.external_id]
    if data.acknowledge:
        params.append(NoticeKind.ACKNOWLEDGEMENT)
    params += lock_params
    sql = rows.statement(("intake-reads", *shape), lambda: _together_sql(*shape))
    found = rows.select(sql, params, checks_connection=True)
    width = len(SlaPolicy._meta.concrete_fields) if read_policies else 0
    extra = list(found[0][width:])
    if read_policies:
        desk, extra = extra[:len(_DESK_COLUMNS)], extra[len(_DESK_COLUMNS):]
        settings_row, policies = _settings_from(desk, [row[:width] for row in found])
        if memo is not None:
            memo.append((settings_row, policies))
    else:
        settings_row, policies = memo[0]
    prelude = _Prelude(settings_row, policies, case_id=extra.pop(0),
                       customer_id=extra.pop(0), locked=bool(locks))
    if check_retry:
        prelude.existing_id = extra.pop(0)
    if data.acknowledge:
        prelude.templates = {}
        for channel, language, pk, subject, body in extra.pop(0) or []:
            key = (NoticeKind.ACKNOWLEDGEMENT, channel, language)
            prelude.templates[key] = NoticeTemplate.from_db(
                "default", TEMPLATE_FIELDS, [int(pk), *key, subject, body])
    if by:
        prelude.customers = [
            _customer_from_row([int(row[0]), *row[1:6], row[6] == "true", row[7]])
            for row in extra.pop(0) or []]
    return prelude


def _together_sql(read_policies: bool, by: tuple[str, ...], check_retry: bool,
                  acknowledge: bool, locks: tuple[str, ...]) -> str:
    """``_read_together``'s text for one shape."""
    qn = connection.ops.quote_name
    scalars = _desk_scalars() if read_policies else []
    scalars.append(f"(SELECT {_nextval(Case)})")
    if by:
        scalars.append(f"(SELECT CASE WHEN EXISTS (SELECT 1 FROM _c) THEN NULL "
                       f"ELSE {_nextval(Customer)} END)")
    else:
        scalars.append(f"(SELECT {_nextval(Customer)})")
    if check_retry:
        scalars.append(_retry_scalar())
    if acknowledge:
        t = {name: qn(NoticeTemplate._meta.get_field(name).column) for name in TEMPLATE_FIELDS}
        scalars.append(
            f"(SELECT array_agg(ARRAY[t.{t['channel']}, t.{t['language']}, t.{t['id']}::text, "
            f"t.{t['subject']}, t.{t['body']}]) FROM {rows.table(NoticeTemplate)} t "
            f"WHERE t.{t['kind']} = %s)")
    cte = ""
    if by:
        c = [f"_c.{qn(Customer._meta.get_field(name).column)}" for name in _CUSTOMER_FIELDS]
        c[0] += "::text"
        c[6] += "::text"
        scalars.append(f"(SELECT array_agg(ARRAY[{', '.join(c)}] ORDER BY _c.{qn('id')}) "
                       f"FROM _c)")
        cte = f"WITH _c AS ({_customers_sql(by)}) "
    if locks:  # last: its value is not read
        scalars.append(_locks_sql(locks))
    if not read_policies:
        return f"{cte}SELECT {', '.join(scalars)}"
    return cte + _with_policies(scalars)


def _with_policies(scalars: list[str]) -> str:
    """SELECT the three SLA policies' columns and ``scalars`` (one row, policy columns NULL,
    when an admin deleted every policy)."""
    qn = connection.ops.quote_name
    columns = ", ".join(f"p.{qn(f.column)}" for f in SlaPolicy._meta.concrete_fields)
    return (f"SELECT {', '.join([columns, *scalars])} "  # noqa: S608 - names from _meta
            f"FROM (SELECT 1) one LEFT JOIN {qn(SlaPolicy._meta.db_table)} p "
            f"ON p.{qn('tier')} IN (1, 2, 3)")


def _desk_scalars() -> list[str]:
    qn = connection.ops.quote_name
    desk_table = qn(DeskSettings._meta.db_table)
    return [f"(SELECT d.{qn(c)} FROM {desk_table} d WHERE d.id = 1)" for c in _DESK_COLUMNS]


def _settings_from(desk: list, policy_rows: list) -> tuple[DeskSettings, dict[int, SlaPolicy]]:
    """The settings and policies for the rows read; the same (read-only) objects as last
    time when the rows are the same, which they nearly always are."""
    global _last_settings
    key = (tuple(desk), tuple(tuple(row) for row in policy_rows))
    last = _last_settings  # one reference read: another thread only ever replaces it whole
    if last is not None and last[0] == key:
        return last[1]
    made = _settings_made(desk, policy_rows)
    if desk[0] is not None:  # not the defaults of a missing settings row
        _last_settings = (key, made)
    return made


_last_settings: tuple | None = None  # (the rows read, (settings, policies))


def _settings_made(desk: list, policy_rows: list) -> tuple[DeskSettings, dict[int, SlaPolicy]]:
    names = _policy_attnames()
    policies = {}
    for row in policy_rows:
        if row[0] is None:
            continue  # no policy rows at all (an admin deleted them): the defaults apply
        policy = SlaPolicy.from_db("default", names, row)
        policy.at_risk_ratio = Decimal(str(policy.at_risk_ratio))  # SQLite gives a float
        policies[policy.tier] = policy
    if desk[0] is None:
        return DeskSettings.get(), policies
    return DeskSettings(pk=1, **dict(zip(_DESK_COLUMNS, desk, strict=True))), policies


def _read_prelude() -> _Prelude:
    """Elsewhere than PostgreSQL: the desk settings and the three SLA policies in one query
    (none within ``settings_read_once`` after the first)."""
    memo = _batch_settings.get()
    if memo:
        settings_row, policies = memo[0]
        return _Prelude(settings_row, policies)
    sql = rows.statement(("intake-prelude",), lambda: _with_policies(_desk_scalars()))
    found = rows.select(sql, [])
    width = len(SlaPolicy._meta.concrete_fields)
    settings_row, policies = _settings_from(list(found[0][width:]),
                                            [row[:width] for row in found])
    if memo is not None:
        memo.append((settings_row, policies))
    return _Prelude(settings_row, policies)


def _existing_case(pk: int) -> IntakeResult:
    """The case a retried submission created first, with the reference of the case it
    duplicates (the API answers with both)."""
    def build() -> str:
        qn = connection.ops.quote_name
        table = rows.table(Case)
        columns = ", ".join(f"c.{qn(f.column)}" for f in Case._meta.concrete_fields)
        return (f"SELECT {columns}, d.{qn('reference')} AS _duplicate_reference "  # noqa: S608
                f"FROM {table} c LEFT JOIN {table} d ON d.{qn('id')} = c.{qn('duplicate_of_id')} "
                f"WHERE c.{qn('id')} = %s")

    sql = rows.statement(("existing-case",), build)
    [(case, (duplicate_reference,))] = rows.fetch_models(Case, sql, [pk], extra=1)
    return IntakeResult(case, created=False, duplicate_reference=duplicate_reference)


def _acknowledgement_templates(customer: Customer) -> list[tuple[str, str, str]]:
    """The template keys ``render_notice`` looks up for this customer's acknowledgement."""
    target = delivery_for(customer)
    if target is None:
        return []
    return template_keys(NoticeKind.ACKNOWLEDGEMENT, target[0], customer.language or "zh-hans")


@dataclass
class _Draft:
    """A create worked out by ``_prepare`` (every read done, nothing written yet)."""

    case: Case
    customer: Customer
    customer_is_new: bool
    customer_changed: list[str]
    plan: grouping.RelatedPlan
    prelude: _Prelude
    deadlines: list[CaseDeadline]
    transition: CaseTransition
    notes: list[CaseNote]
    acknowledge: bool
    notice: Notice | None = None

    @property
    def one_statement(self) -> bool:
        """Are all the writes one statement (so, atomic without a transaction)? PostgreSQL,
        with the ids drawn first (joining a group counts the case in the same statement);
        not when the case forms a group or the customer changes."""
        return (self.case.pk is not None and not self.plan.members
                and not self.customer_changed
                and (not self.customer_is_new or self.customer.pk is not None))


def _prepare(actor: User | None, data: IntakeData, candidates: list[Customer],
             prelude: _Prelude | None) -> _Draft:
    """The rest of a create's reads and its unsaved rows: the settings (``_read_prelude``,
    unless read together with the lookup), the matter read (only with an order reference
    or location, or a returning customer)."""
    now = timezone.now()
    received_at = data.received_at or now
    customer, customer_is_new, customer_changed = customer_match(data.customer, candidates)
    if prelude is None:
        prelude = _read_prelude()
    if customer_is_new and prelude.customer_id is not None:
        customer.pk = prelude.customer_id
    if prelude.templates is not None:  # every template was read: a missing one is None
        for key in _acknowledgement_templates(customer):
            prelude.templates.setdefault(key, None)
    plan = grouping.detect_related(
        customer_id=customer.pk, customer_is_new=customer_is_new, category=data.category,
        order_ref=data.order_ref, location=data.location, subject=data.subject[:200],
        received_at=received_at, settings_row=prelude.settings_row,
    )
    case = rows.new(
        Case, tracking_code=new_tracking_code(), customer=customer, channel=data.channel,
        source_id=data.source_id, external_id=data.external_id,
        received_at=received_at, occurred_at=data.occurred_at, category=data.category,
        subject=data.subject[:200], description=data.description,
        order_ref=data.order_ref[:64], location=data.location[:100],
        desired_outcome=data.desired_outcome, urgency=data.urgency, scope=data.scope,
        difficulty=data.difficulty,
        suggested_tier=suggest_tier(
            urgency=data.urgency, scope=data.scope, difficulty=data.difficulty
        ),
        owner=actor,
    )
    if prelude.case_id is not None:
        case.pk = prelude.case_id
        case.reference = format_reference(prelude.case_id, received_at)
    grouping.apply_links(plan, case)
    policy = prelude.policies.get(case.suggested_tier) or clocks.policy_for(case.suggested_tier)
    clock_start = data.clocks_start_at or received_at
    stopped = {}
    if actor is not None and data.channel in AGENT_LOGGED_CHANNELS:
        # The agent is talking to the customer: that is the first response.
        stopped[Clock.RESPONSE] = clock_start
    deadlines = clocks.start_new_case_clocks(
        case, [Clock.ASSIGN, Clock.RESPONSE, Clock.SOLUTION], clock_start, policy,
        stopped=stopped, now=now,
    )
    draft = _Draft(
        case=case, customer=customer, customer_is_new=customer_is_new,
        customer_changed=customer_changed, plan=plan, prelude=prelude, deadlines=deadlines,
        transition=rows.new(
            CaseTransition, case=case, field="stage", name="receive", source="",
            target=case.stage, actor=actor, note=str(ChannelKind(data.channel).label), at=now),
        notes=[rows.new(CaseNote, case=case, kind=NoteKind.INTERNAL, author=actor, body=text,
                        created_at=now) for text in data.extra_notes],
        acknowledge=data.acknowledge,
    )
    if case.reference is not None:
        draft.notice = _acknowledgement(draft)
    return draft


def _acknowledgement(draft: _Draft) -> Notice | None:
    # The case is new, so no acknowledgement can exist for it yet (no lookup).
    if not draft.acknowledge:
        return None
    return notice_build(case=draft.case, kind=NoticeKind.ACKNOWLEDGEMENT, key="ack",
                        context={"track_url": track_url(draft.case)},
                        templates=draft.prelude.templates)


def _write(draft: _Draft) -> IntakeResult:
    """Write the draft's rows: one statement on PostgreSQL (a group being formed and a
    changed customer add their own); one statement per table elsewhere."""
    case, customer = draft.case, draft.customer
    writes: list[list] = []
    if draft.customer_is_new:
        if customer.pk is not None:
            writes.append([customer])
        else:
            rows.insert(customer)
            case.customer = customer
    elif draft.customer_changed:
        customer.save(update_fields=draft.customer_changed)
    new_group = grouping.create_group(draft.plan, case)
    if case.pk is None:  # no sequence to draw the id from first (SQLite)
        rows.insert(case)
        case.reference = format_reference(case.pk, case.received_at)
        Case.objects.filter(pk=case.pk).update(reference=case.reference)
        draft.notice = _acknowledgement(draft)
    else:
        writes.append([case])
    for row in (*draft.deadlines, draft.transition, *draft.notes):
        row.case = case
    writes += [draft.deadlines, [draft.transition], draft.notes]
    if draft.notice is not None:
        writes.append([draft.notice])
    # Plain INSERTs (cases.services.rows): the same rows as save()/bulk_create, without the
    # ORM recompiling each statement on every complaint; on PostgreSQL one statement, with
    # the count of a group the case joins.
    in_chain = draft.prelude.case_id is not None  # the case is written by the one statement
    joining = grouping.count_into_group(draft.plan, case) if in_chain else None
    rows.insert_chain(writes, also=[joining] if joining else ())
    grouping.apply_after_insert(draft.plan, case, new_group, draft.prelude.policies,
                                counted=joining is not None)
    if draft.notice is not None:
        notice_dispatch_after_commit(draft.notice)
    return IntakeResult(case, created=True, duplicate_reference=draft.plan.duplicate_reference)


rows.register(Case, CaseDeadline, CaseTransition, CaseNote, Customer)


def track_url(case: Case) -> str:
    from django.conf import settings

    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/track/?reference={case.reference}"


__all__ = [
    "CustomerData",
    "IntakeData",
    "IntakeResult",
    "case_intake",
    "clean_text",
    "customer_match",
    "find_existing",
    "format_reference",
    "new_tracking_code",
    "settings_read_once",
    "track_url",
    "validate_intake",
]
