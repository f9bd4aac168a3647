"""The one intake path every channel calls: customer, case, tier suggestion, clocks,
duplicate and group detection, and the acknowledgement notice.

Intake is the hot path of the complaint hub (API bursts, bulk imports), so ``_create`` is
written to a fixed query budget: customer (1-2), settings and SLA policies (1), related cases
(0-1), the case (1), its clocks (1, bulk), the transition log (1), the reference (1) and the
acknowledgement (3, ``notice_queue``). Tests hold it to <= 12 per create.
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
    SlaPolicy,
    User,
)
from cases.models.notices import NoticeKind
from cases.services import clocks, grouping, rows
from cases.services.errors import InvalidInput
from cases.services.lifecycle import suggest_tier
from cases.services.notices import notice_queue

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
    if c.preferred_channel not in ContactChannel.values:
        errors.append(("customer.preferred_channel", _("Unknown contact channel.")))
    if data.channel not in ChannelKind.values:
        errors.append(("channel", _("Unknown channel.")))
    if data.category not in Category.values:
        errors.append(("category", _("Unknown category.")))
    if not data.subject:
        errors.append(("subject", _("Enter a subject.")))
    if not data.description:
        errors.append(("description", _("Describe the complaint.")))
    if data.urgency not in Urgency.values:
        errors.append(("urgency", _("Unknown urgency.")))
    if data.scope not in Scope.values:
        errors.append(("scope", _("Unknown impact scope.")))
    if data.difficulty not in Difficulty.values:
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


def customer_find_or_create(data: CustomerData) -> tuple[Customer, bool]:
    """The same person is found by phone, else by email (one query); missing contact data is
    filled in. Returns (customer, created)."""
    phone, email = data.phone, data.email.lower()
    candidates = _customers_with(phone, email)
    customer = next((c for c in candidates if phone and c.phone == phone), None) or next(
        (c for c in candidates if email and c.email.lower() == email), None
    )
    if customer is None:
        customer = Customer(
            name=data.name[:100], phone=phone, email=email,
            preferred_channel=data.preferred_channel, is_key_customer=data.is_key_customer,
            language=data.language,
        )
        rows.insert(customer)
        return customer, True
    changed = []
    for attr, value in (("phone", phone), ("email", email)):
        if value and not getattr(customer, attr):
            setattr(customer, attr, value)
            changed.append(attr)
    if data.is_key_customer and not customer.is_key_customer:
        customer.is_key_customer = True
        changed.append("is_key_customer")
    if changed:
        customer.save(update_fields=changed)
    return customer, False


# Every Customer column except created_at (intake never reads it; it stays deferred).
_CUSTOMER_FIELDS = ("id", "name", "phone", "email", "preferred_channel", "wechat_openid",
                    "is_key_customer", "language")


def _customers_with(phone: str, email: str) -> list[Customer]:
    """Customers with this phone or e-mail, oldest first (at most 20), as plain SQL: the ORM
    compiled this query on every complaint for more CPU than the database spent on it."""
    where, params = [], []
    for name, value in (("phone", phone), ("email", email)):
        if value:
            where.append(f"{rows.columns(Customer, name)} = %s")
            params.append(value)
    if not where:
        return []
    sql = (f"SELECT {rows.columns(Customer, *_CUSTOMER_FIELDS)} "  # noqa: S608 - _meta names
           f"FROM {rows.table(Customer)} WHERE {' OR '.join(where)} "
           f"ORDER BY {rows.columns(Customer, 'id')} LIMIT 20")
    found = []
    for row in rows.select(sql, params):
        values = list(row)
        values[6] = bool(values[6])  # SQLite returns 0/1
        found.append(Customer.from_db("default", _CUSTOMER_FIELDS, values))
    return found


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

    Idempotency is optimistic: the unique (source, external_id) constraint decides, so the
    common first submission costs no lookup; a retry rolls back and returns the first case.
    """
    _clean(data)
    _validate(data)
    try:
        with transaction.atomic():
            case, duplicate_reference = _create(actor, data)
            return IntakeResult(case, created=True, duplicate_reference=duplicate_reference)
    except IntegrityError:
        # A retry of the same submission (or a race between two of them): the first one won.
        existing = find_existing(data.source_id, data.external_id)
        if existing is None:
            raise
        return IntakeResult(existing, created=False)


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


def _settings_and_policies() -> tuple[DeskSettings, dict[int, SlaPolicy], int | None]:
    """(desk settings, SLA policies by tier, the new case's id or None).

    On PostgreSQL the same query draws the new case's id from its sequence, so the
    reference (derived from the id) is written with the row instead of by a second UPDATE
    of an indexed column. Elsewhere (SQLite) the id is None and the reference is set after
    the insert."""
    memo = _batch_settings.get()
    if memo:
        settings_row, policies = memo[0]
        return settings_row, policies, _next_case_id()
    settings_row, policies, next_id = _read_settings_and_policies()
    if memo is not None:
        memo.append((settings_row, policies))
    return settings_row, policies, next_id


def _case_id_sequence_sql() -> str | None:
    if connection.vendor != "postgresql":
        return None
    table = Case._meta.db_table
    return f"nextval(pg_get_serial_sequence('{table}', '{Case._meta.pk.column}'))"


def _next_case_id() -> int | None:
    nextval = _case_id_sequence_sql()
    if nextval is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {nextval}")  # noqa: S608 - names from _meta
        return cursor.fetchone()[0]


def _read_settings_and_policies() -> tuple[DeskSettings, dict[int, SlaPolicy], int | None]:
    """The desk settings and the three SLA policies in one query. Written as raw SQL over the
    models' own table and column names: the ORM spent more time compiling the annotated query
    than the database spent running it, on the hottest path of the hub."""
    desk_table = connection.ops.quote_name(DeskSettings._meta.db_table)
    policy_table = connection.ops.quote_name(SlaPolicy._meta.db_table)
    columns = ", ".join(
        f"p.{connection.ops.quote_name(f.column)}" for f in SlaPolicy._meta.concrete_fields
    )
    desk_columns = ("duplicate_window_hours", "group_window_hours", "group_threshold")
    subqueries = ", ".join(
        f"(SELECT d.{connection.ops.quote_name(c)} FROM {desk_table} d WHERE d.id = 1) AS _{c}"
        for c in desk_columns
    )
    nextval = _case_id_sequence_sql()
    # An uncorrelated scalar subquery runs once per statement (an InitPlan), not per row.
    next_id_column = f", (SELECT {nextval}) AS _next_id" if nextval else ""
    names = [f.attname for f in SlaPolicy._meta.concrete_fields]
    policies = []
    for row in rows.select(
        f"SELECT {columns}, {subqueries}{next_id_column} "  # noqa: S608 - no user input
        f"FROM {policy_table} p WHERE p.tier IN (1, 2, 3)", []
    ):
        policy = SlaPolicy.from_db("default", names, row[:len(names)])
        policy.at_risk_ratio = Decimal(str(policy.at_risk_ratio))  # SQLite gives a float
        (policy._duplicate_window_hours, policy._group_window_hours,
         policy._group_threshold) = row[len(names):len(names) + 3]
        policy._next_id = row[len(names) + 3] if nextval else None
        policies.append(policy)
    first = policies[0] if policies else None
    if first is None or first._duplicate_window_hours is None:
        settings_row = DeskSettings.get()
    else:
        settings_row = DeskSettings(
            pk=1, duplicate_window_hours=first._duplicate_window_hours,
            group_window_hours=first._group_window_hours,
            group_threshold=first._group_threshold,
        )
    if nextval is None:
        next_id = None
    elif first is not None:
        next_id = first._next_id
    else:  # no policy rows at all (an admin deleted them): the defaults apply
        next_id = _next_case_id()
    return settings_row, {p.tier: p for p in policies}, next_id


def _create(actor: User | None, data: IntakeData) -> tuple[Case, str | None]:
    now = timezone.now()
    received_at = data.received_at or now
    customer, customer_is_new = customer_find_or_create(data.customer)
    settings_row, policies, next_id = _settings_and_policies()
    plan = grouping.detect_related(
        customer_id=customer.pk, customer_is_new=customer_is_new, category=data.category,
        order_ref=data.order_ref, location=data.location, subject=data.subject[:200],
        received_at=received_at, settings_row=settings_row,
    )
    case = Case(
        tracking_code=new_tracking_code(), customer=customer, channel=data.channel,
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
    if next_id is not None:
        case.pk = next_id
        case.reference = format_reference(next_id, received_at)
    new_group = grouping.apply_before_insert(plan, case)
    policy = policies.get(case.suggested_tier) or clocks.policy_for(case.suggested_tier)
    clock_start = data.clocks_start_at or received_at
    stopped = {}
    if actor is not None and data.channel in AGENT_LOGGED_CHANNELS:
        # The agent is talking to the customer: that is the first response.
        stopped[Clock.RESPONSE] = clock_start
    deadlines = clocks.start_new_case_clocks(
        case, [Clock.ASSIGN, Clock.RESPONSE, Clock.SOLUTION], clock_start, policy,
        stopped=stopped, now=now,
    )
    # Plain INSERTs (cases.services.rows): same rows as save()/bulk_create, without the
    # ORM recompiling each statement on every complaint.
    rows.insert(case)
    for deadline in deadlines:
        deadline.case = case
    rows.insert_many(deadlines)
    rows.insert_many([CaseTransition(
        case=case, field="stage", name="receive", source="", target=case.stage, actor=actor,
        note=str(ChannelKind(data.channel).label), at=now,
    )])
    if data.extra_notes:
        rows.insert_many([
            CaseNote(case=case, kind=NoteKind.INTERNAL, author=actor, body=text, created_at=now)
            for text in data.extra_notes
        ])
    grouping.apply_after_insert(plan, case, new_group)
    if case.reference is None:  # no sequence to draw the id from first (SQLite)
        case.reference = format_reference(case.pk, received_at)
        Case.objects.filter(pk=case.pk).update(reference=case.reference)
    if data.acknowledge:
        # The case is new in this transaction, so no acknowledgement can exist for it yet.
        notice_queue(case=case, kind=NoticeKind.ACKNOWLEDGEMENT, key="ack",
                     context={"track_url": track_url(case)}, new_case=True)
    return case, plan.duplicate_reference


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
    "customer_find_or_create",
    "find_existing",
    "format_reference",
    "new_tracking_code",
    "settings_read_once",
    "track_url",
    "validate_intake",
]
