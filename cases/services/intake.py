"""The one intake path every channel calls (``case_intake``): the customer, the case, its
suggested tier and clocks, duplicate and group-complaint detection, the receive transition
and the acknowledgement notice.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import AGENT_LOGGED_CHANNELS, ChannelKind, Clock, NoteKind
from cases.models import Case, CaseDeadline, CaseNote, CaseTransition, Customer, User
from cases.models.notices import NoticeKind
from cases.services import clocks, grouping, imported_history, statutory
from cases.services.audit import audit_batch
from cases.services.desk_config import DeskConfig, desk_config
from cases.services.errors import InvalidInput
from cases.services.intake_input import (
    CustomerData,
    IntakeData,
    IntakeResult,
    clean_text,
    normalise_phone,
    validate_intake,
)
from cases.services.lifecycle import suggest_tier
from cases.services.locks import hold_transaction_locks
from cases.services.notices import notice_build, notice_dispatch_after_commit
from cases.services.transitions import change_row, log_new_rows

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
_NEW_CASE_CLOCKS = [Clock.ASSIGN, Clock.RESPONSE, Clock.SOLUTION]


def new_tracking_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def format_reference(case_id: int, received_at: datetime) -> str:
    year = timezone.localtime(received_at).year
    return f"TS-{year}-{case_id:06d}"


def track_url(case: Case) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/track/?reference={case.reference}"


def case_intake(*, actor: User | None, data: IntakeData, bulk: bool = False) -> IntakeResult:
    """Create the case for a complaint from any channel, or return the case a channel's
    retry of the same ``external_id`` created before (writing nothing).

    Raises InvalidInput (with ``errors``: a list of (field, message)) and changes nothing
    when the data is not a complaint we can take. Runs in one transaction (a savepoint in
    the caller's) holding the complaint's locks (``intake_lock_keys``), so complaints that
    arrive together on one matter or from one customer are grouped, linked and matched as
    if they came one after the other. ``bulk``: the caller creates many cases in one long
    transaction (an import batch) and no locks are taken, since its rows' locks could not
    be taken in one key order. An agent logging a hotline or walk-in call owns the case and
    has responded already. Side effect: the acknowledgement is dispatched after commit.
    """
    validate_intake(data)
    if actor is not None and data.complained_employee is not None and (
            data.complained_employee.pk == actor.pk):
        error = InvalidInput(_("Recusal (回避): you cannot log a complaint about yourself; "
                               "ask a colleague."), field="complained_employee")
        error.errors = [("complained_employee", error.message)]  # type: ignore[attr-defined]
        raise error
    try:
        with transaction.atomic():
            existing = _retried(data)
            if existing is not None:
                return existing
            if not bulk:
                hold_transaction_locks(intake_lock_keys(data))
            with audit_batch():  # the customer, the case and its group: one append
                return _create(actor, data, desk_config())
    except IntegrityError:
        # Two submissions of one external_id at once: the first one's case is the answer.
        existing = _retried(data)
        if existing is None:
            raise
        return existing


def _retried(data: IntakeData) -> IntakeResult | None:
    """The answer to a retry: the case this channel created for the ``external_id``, or the
    case already created for the regulator's reference under the complaint's regime."""
    forwarded = statutory.find_forwarded(data, desk_config().regimes)
    if forwarded is not None:
        return IntakeResult(forwarded, created=False,
                            duplicate_reference=forwarded.duplicate_reference)
    if data.source_id is None or not data.external_id:
        return None
    # Nearly every complaint is new: look for the key alone before reading a whole case.
    if not Case.objects.filter(source_id=data.source_id, external_id=data.external_id).exists():
        return None
    case = find_existing(data.source_id, data.external_id)
    if case is None:
        return None
    return IntakeResult(case, created=False, duplicate_reference=case.duplicate_reference)


def intake_lock_keys(data: IntakeData) -> list[str]:
    """The complaint's matter (category and order/product reference or location, in any
    letter case) and its customer's phone and e-mail: what a concurrent complaint must not
    read while this one is being created."""
    keys = []
    if data.order_ref:
        keys.append(f"intake-matter:order:{data.category}:{data.order_ref.upper()}")
    elif data.location:
        keys.append(f"intake-matter:location:{data.category}:{data.location.upper()}")
    if data.customer.phone:
        keys.append(f"intake-customer:phone:{data.customer.phone}")
    if data.customer.email:
        keys.append(f"intake-customer:email:{data.customer.email.lower()}")
    return keys


def find_existing(source_id: int | None, external_id: str) -> Case | None:
    """The case this channel already created for ``external_id`` (None without one), with
    its customer and the reference of the case it duplicates (``duplicate_reference``)."""
    if source_id is None or not external_id:
        return None
    return (Case.objects.select_related("customer")
            .annotate(duplicate_reference=F("duplicate_of__reference"))
            .filter(source_id=source_id, external_id=external_id).first())


def customer_match(data: CustomerData, candidates: list[Customer],
                   ) -> tuple[Customer, bool, list[str]]:
    """(customer, is new, changed fields) without writing: among ``candidates`` (the
    customers with this phone or e-mail), the one with the phone, else the one with the
    e-mail, with missing contact data filled in; else an unsaved new one."""
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


def customers_with(phone: str, email: str) -> list[Customer]:
    """The customers with this phone or e-mail, oldest first (at most 20)."""
    if not (phone or email):
        return []
    condition = (Q(phone=phone) if phone else Q()) | (Q(email=email) if email else Q())
    return list(Customer.objects.filter(condition).order_by("pk")[:20])


def _customer_for(data: CustomerData) -> tuple[Customer, bool]:
    """The complaint's customer, saved (created, or given the contact data it lacked)."""
    customer, is_new, changed = customer_match(data, customers_with(data.phone, data.email))
    if is_new:
        customer.save(force_insert=True)
    elif changed:
        customer.save(update_fields=changed)
    return customer, is_new


def new_case(actor: User | None, data: IntakeData, config: DeskConfig, *, customer: Customer,
             plan: grouping.RelatedPlan, now: datetime) -> tuple[Case, list[CaseDeadline]]:
    """The unsaved case of a complaint, linked as ``plan`` says, with its clocks' unsaved
    rows (for ``_create`` and the batch intake of an import). A legacy case with its
    history (``data.history``) is created in its stage with clocks at their real times."""
    received_at = data.received_at or now
    history = data.history
    suggested = suggest_tier(urgency=data.urgency, scope=data.scope, difficulty=data.difficulty)
    case = Case(
        tracking_code=new_tracking_code(), customer=customer, channel=data.channel,
        source_id=data.source_id, external_id=data.external_id, received_at=received_at,
        occurred_at=data.occurred_at, category=data.category, subject=data.subject[:200],
        description=data.description, order_ref=data.order_ref[:64],
        location=data.location[:100], desired_outcome=data.desired_outcome,
        urgency=data.urgency, scope=data.scope, difficulty=data.difficulty,
        complained_employee=data.complained_employee,
        **{"suggested_tier": suggested, "owner": actor,
           **(imported_history.imported_case_fields(history, suggested) if history else {})},
    )
    grouping.apply_links(plan, case)
    if history is not None:
        deadlines = imported_history.history_clocks(
            case, history, config.policy(case.tier or case.suggested_tier), now)
    else:
        clock_start = data.clocks_start_at or received_at
        # An agent logging a call is talking to the customer: that is the first response.
        stopped = ({Clock.RESPONSE: clock_start}
                   if actor is not None and data.channel in AGENT_LOGGED_CHANNELS else {})
        deadlines = clocks.start_new_case_clocks(
            case, _NEW_CASE_CLOCKS, clock_start, config.policy(case.suggested_tier),
            stopped=stopped, now=now)
    return case, deadlines


def intake_transitions(case: Case, data: IntakeData, actor: User | None,
                       ) -> list[CaseTransition]:
    """The unsaved transitions of a new case: "receive", or a legacy case's dated, imported
    history."""
    label = str(ChannelKind(data.channel).label)
    if data.history is not None:
        return imported_history.history_transitions(case, data.history, actor, label)
    return [change_row(case, field="stage", name="receive", source="", target=case.stage,
                       actor=actor, note=label)]


def related_plan(data: IntakeData, config: DeskConfig, *, customer_id: int,
                 customer_is_new: bool, now: datetime, recent: list[tuple] | None = None,
                 ) -> grouping.RelatedPlan:
    return grouping.detect_related(
        customer_id=customer_id, customer_is_new=customer_is_new, category=data.category,
        order_ref=data.order_ref, location=data.location, subject=data.subject[:200],
        received_at=data.received_at or now, settings_row=config.settings, recent=recent,
    )


def _create(actor: User | None, data: IntakeData, config: DeskConfig) -> IntakeResult:
    """Write the new case and everything that comes with it (inside ``case_intake``'s
    transaction, its locks held)."""
    now = timezone.now()
    received_at = data.received_at or now
    history = data.history
    customer, customer_is_new = _customer_for(data.customer)
    plan = related_plan(data, config, customer_id=customer.pk,
                        customer_is_new=customer_is_new, now=now)
    case, deadlines = new_case(actor, data, config, customer=customer, plan=plan, now=now)
    new_group = grouping.create_group(plan, case)
    case.save(force_insert=True)
    case.reference = format_reference(case.pk, received_at)
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    for row in deadlines:
        row.case = case
    CaseDeadline.objects.bulk_create(deadlines)
    statutory.statutory_intake(case=case, data=data, rules=config.regimes)
    # An import's dated history raises no webhook events for the past.
    log_new_rows(intake_transitions(case, data, actor), events=history is None)
    compensation = imported_history.imported_compensation(case, history) if history else None
    if compensation is not None:
        compensation.save(force_insert=True)
    if data.extra_notes:
        CaseNote.objects.bulk_create([
            CaseNote(case=case, kind=NoteKind.INTERNAL, author=actor, body=text, created_at=now)
            for text in data.extra_notes])
    grouping.apply_after_insert(plan, case, new_group, config.policies)
    if data.acknowledge and history is None:  # the legacy system acknowledged it
        notice = notice_build(case=case, kind=NoticeKind.ACKNOWLEDGEMENT, key="ack",
                              context={"track_url": track_url(case)},
                              templates=config.templates)
        if notice is not None:
            notice.save(force_insert=True)
            notice_dispatch_after_commit(notice)
    return IntakeResult(case, created=True, duplicate_reference=plan.duplicate_reference)


__all__ = [
    "CustomerData",
    "IntakeData",
    "IntakeResult",
    "case_intake",
    "clean_text",
    "customer_match",
    "find_existing",
    "format_reference",
    "intake_lock_keys",
    "new_tracking_code",
    "normalise_phone",
    "track_url",
    "validate_intake",
]
