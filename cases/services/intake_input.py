"""What every channel hands to intake (``IntakeData``), and its cleaning and checks.

``validate_intake`` touches no database: channel forms and import dry runs call it, and
``case_intake`` calls it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import (
    Category,
    ChannelKind,
    ContactChannel,
    Difficulty,
    Scope,
    Urgency,
)
from cases.models import Case, User
from cases.services.errors import InvalidInput
from cases.services.imported_history import ImportedHistory, complete_history, history_errors

_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-()]{2,30}$")
# PostgreSQL refuses NUL in text and psycopg refuses lone surrogates: never let them reach SQL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
LANGUAGES = ("zh-hans", "en")


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
    # Statutory regime (cases.services.statutory): a regime code chosen at intake (else the
    # channel's or the category's regime applies), and for a complaint a regulator forwarded,
    # the regulator's reference (one case per regime and reference) and its own deadline.
    regime: str = ""
    regulator_reference: str = ""
    regulator_due_at: datetime | None = None
    # A legacy import's outcome: the case is created in the stage it reached, with its
    # transitions and clocks at their real times (``cases.services.imported_history``).
    history: ImportedHistory | None = None
    # Recusal 回避: the employee the complaint is about (cases.services.recusal).
    complained_employee: User | None = None


@dataclass
class IntakeResult:
    case: Case
    created: bool
    # The reference of the case this one duplicates (None: no duplicate).
    duplicate_reference: str | None = None


MAX_LENGTHS = {
    "customer.name": 100, "customer.phone": 32, "customer.email": 254, "external_id": 120,
    "subject": 200, "order_ref": 64, "location": 100, "description": 50000,
    "desired_outcome": 5000, "regime": 40, "regulator_reference": 64,
}


def _clean(data: IntakeData) -> None:
    """Strip and sanitise every text field in place (channels pass what people typed)."""
    c = data.customer
    c.name = clean_text(c.name).strip()
    c.phone = normalise_phone(clean_text(c.phone).strip())
    c.email = clean_text(c.email).strip().lower()
    c.language = c.language if c.language in LANGUAGES else "zh-hans"
    for name in ("channel", "category", "subject", "description", "external_id", "order_ref",
                 "location", "desired_outcome", "urgency", "scope", "difficulty", "regime",
                 "regulator_reference"):
        setattr(data, name, clean_text(getattr(data, name)).strip())
    data.subject = " ".join(data.subject.split())
    data.extra_notes = [clean_text(n).strip() for n in data.extra_notes if clean_text(n).strip()]
    data.regime = data.regime.lower()
    for name in ("occurred_at", "received_at", "clocks_start_at", "regulator_due_at"):
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
    if not (c.phone or c.email) and data.channel != ChannelKind.IMPORT and data.history is None:
        # Legacy records (imports, imported history on any channel) may lack contact data;
        # every live channel must let us answer.
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
              "description": data.description, "desired_outcome": data.desired_outcome,
              "regime": data.regime, "regulator_reference": data.regulator_reference}
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
    if data.regulator_due_at and not data.regulator_reference:
        errors.append(("regulator_reference",
                       _("Give the regulator's reference with the regulator's deadline.")))
    if data.regulator_due_at and data.regulator_due_at <= (data.received_at or now):
        errors.append(("regulator_due_at",
                       _("The regulator's deadline must be after the complaint was received.")))
    if data.history is not None:
        complete_history(data.history)
        errors += history_errors(data.history, data.received_at)
    if errors:
        error = InvalidInput(errors[0][1], field=errors[0][0])
        error.errors = errors  # type: ignore[attr-defined]
        raise error


def validate_intake(data: IntakeData) -> None:
    """Clean and check ``data`` without touching the database (dry runs, channel forms).
    Raises InvalidInput with ``errors`` [(field, message), ...]."""
    _clean(data)
    _validate(data)


