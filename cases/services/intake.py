"""The one intake path every channel calls: customer, case, tier suggestion, clocks,
duplicate and group detection, and the acknowledgement notice."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
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
from cases.models import Case, CaseNote, CaseTransition, Customer, User
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.errors import InvalidInput
from cases.services.lifecycle import suggest_tier
from cases.services.notices import notice_queue

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def new_tracking_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def format_reference(case_id: int, received_at: datetime) -> str:
    year = timezone.localtime(received_at).year
    return f"TS-{year}-{case_id:06d}"


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


@dataclass
class IntakeResult:
    case: Case
    created: bool


def _validate(data: IntakeData) -> None:
    errors: list[tuple[str, str]] = []
    if not data.customer.name.strip():
        errors.append(("customer.name", _("Enter the customer's name.")))
    if not (data.customer.phone.strip() or data.customer.email.strip()):
        errors.append(("customer.phone", _("Give a phone number or an email address.")))
    if data.customer.preferred_channel not in ContactChannel.values:
        errors.append(("customer.preferred_channel", _("Unknown contact channel.")))
    if data.channel not in ChannelKind.values:
        errors.append(("channel", _("Unknown channel.")))
    if data.category not in Category.values:
        errors.append(("category", _("Unknown category.")))
    if not data.subject.strip():
        errors.append(("subject", _("Enter a subject.")))
    if not data.description.strip():
        errors.append(("description", _("Describe the complaint.")))
    if data.urgency not in Urgency.values:
        errors.append(("urgency", _("Unknown urgency.")))
    if data.scope not in Scope.values:
        errors.append(("scope", _("Unknown impact scope.")))
    if data.difficulty not in Difficulty.values:
        errors.append(("difficulty", _("Unknown difficulty.")))
    if data.occurred_at and data.occurred_at > timezone.now() + timezone.timedelta(minutes=5):
        errors.append(("occurred_at", _("The time it happened is in the future.")))
    if errors:
        error = InvalidInput(errors[0][1], field=errors[0][0])
        error.errors = errors  # type: ignore[attr-defined]
        raise error


def customer_find_or_create(data: CustomerData) -> Customer:
    """The same person is found by phone, else by email; missing contact data is filled in."""
    phone, email = data.phone.strip(), data.email.strip().lower()
    customer = None
    if phone:
        customer = Customer.objects.filter(phone=phone).order_by("pk").first()
    if customer is None and email:
        customer = Customer.objects.filter(email__iexact=email).order_by("pk").first()
    if customer is None:
        return Customer.objects.create(
            name=data.name.strip()[:100], phone=phone, email=email,
            preferred_channel=data.preferred_channel, is_key_customer=data.is_key_customer,
            language=data.language,
        )
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
    return customer


def _existing(data: IntakeData) -> Case | None:
    if data.source_id is None or not data.external_id:
        return None
    return Case.objects.filter(source_id=data.source_id, external_id=data.external_id).first()


def case_intake(*, actor: User | None, data: IntakeData) -> IntakeResult:
    """Create the case for a complaint from any channel, or return the existing one when a
    channel retries the same ``external_id``.

    Preconditions: ``data`` passed the channel's own shape checks. Raises InvalidInput (with
    ``errors``: a list of (field, message)) and changes nothing when the data is not a
    complaint we can take. Side effects: an acknowledgement notice is queued after commit.
    An agent logging a hotline or walk-in call owns the case and has responded already.
    """
    _validate(data)
    existing = _existing(data)
    if existing is not None:
        return IntakeResult(existing, created=False)
    try:
        with transaction.atomic():
            return IntakeResult(_create(actor, data), created=True)
    except IntegrityError:
        # Two retries of the same submission raced: the other one created it.
        existing = _existing(data)
        if existing is None:
            raise
        return IntakeResult(existing, created=False)


def _create(actor: User | None, data: IntakeData) -> Case:
    from cases.services import grouping

    now = timezone.now()
    received_at = data.received_at or now
    customer = customer_find_or_create(data.customer)
    suggested = suggest_tier(urgency=data.urgency, scope=data.scope, difficulty=data.difficulty)
    case = Case(
        tracking_code=new_tracking_code(), customer=customer, channel=data.channel,
        source_id=data.source_id, external_id=data.external_id[:120],
        received_at=received_at, occurred_at=data.occurred_at, category=data.category,
        subject=data.subject.strip()[:200], description=data.description.strip(),
        order_ref=data.order_ref.strip()[:64], location=data.location.strip()[:100],
        desired_outcome=data.desired_outcome.strip(), urgency=data.urgency, scope=data.scope,
        difficulty=data.difficulty, suggested_tier=suggested,
        owner=actor,
    )
    case.save()
    case.reference = format_reference(case.pk, received_at)
    policy = clocks.policy_for(suggested)
    for clock in (Clock.ASSIGN, Clock.RESPONSE, Clock.SOLUTION):
        clocks.start_clock(case, clock, received_at, policy)
    CaseTransition.objects.create(
        case=case, field="stage", name="receive", source="", target=case.stage, actor=actor,
        note=str(ChannelKind(data.channel).label), at=now,
    )
    if actor is not None and data.channel in AGENT_LOGGED_CHANNELS:
        # The agent is talking to the customer: that is the first response.
        clocks.stop_clock(case, Clock.RESPONSE, received_at)
    for text in data.extra_notes:
        CaseNote.objects.create(case=case, kind=NoteKind.INTERNAL, author=actor, body=text,
                                created_at=now)
    grouping.link_related(case)
    clocks.refresh_case_sla(case, now)
    case.save()
    notice_queue(case=case, kind=NoticeKind.ACKNOWLEDGEMENT, key="ack",
                 context={"track_url": track_url(case)})
    return case


def track_url(case: Case) -> str:
    from django.conf import settings

    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/track/?reference={case.reference}"
