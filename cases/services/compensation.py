"""Compensation offered to a customer: proposed by the case team, approved at once up to the
threshold the admins set, above it by a supervisor before the feedback can name it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import HANDLING_STAGES, CompensationKind, CompensationStatus, Stage
from cases.models import Case, Compensation, DeskSettings, User
from cases.services import clocks
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.transitions import lock_case, save_case
from channels.webhooks.services.events import webhook_compensation_decided


@dataclass(frozen=True)
class CompensationOffer:
    kind: str  # a CompensationKind value
    amount: Decimal
    description: str = ""


def _save(case: Case) -> None:
    """Save as every case action does: the SLA summary refreshed, the version bumped."""
    clocks.refresh_case_sla(case)
    save_case(case)


@transaction.atomic
def compensation_propose(
    *, actor: User, case_id: int, kind: str, amount: Decimal, description: str = ""
) -> Compensation:
    """Propose compensation. Up to the admin-set threshold it is approved at once; above it a
    supervisor must approve it before the feedback can name it."""
    case = lock_case(case_id)
    compensation = compensation_record(case, actor, CompensationOffer(kind, amount, description))
    _save(case)
    return compensation


def compensation_record(case: Case, actor: User, offer: CompensationOffer) -> Compensation:
    """Check ``offer`` and record it on ``case``. Precondition: the caller holds the case's
    row lock (``lock_case``) and saves the case afterwards; raises as compensation_propose."""
    if not perms.can_propose_compensation(case, actor):
        raise ActionForbidden(_("You may not propose compensation on this case."))
    if case.stage not in (*HANDLING_STAGES, Stage.RESOLVED, Stage.FOLLOW_UP, Stage.REVIEW):
        raise ActionNotAllowed(_("Compensation can be proposed only while the case is open."))
    if offer.kind not in CompensationKind.values:
        raise InvalidInput(_("Choose the kind of compensation."), field="kind")
    try:
        value = Decimal(str(offer.amount))
    except ArithmeticError as exc:
        raise InvalidInput(_("Enter an amount."), field="amount") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("100000000"):
        raise InvalidInput(_("Enter an amount between 0 and 99,999,999."), field="amount")
    threshold = DeskSettings.get().compensation_approval_threshold
    now = timezone.now()
    needs_approval = value > threshold and not perms.is_supervisor(actor)
    compensation = Compensation.objects.create(
        case=case, kind=offer.kind, amount=value.quantize(Decimal("0.01")),
        description=(offer.description or "").strip()[:300], proposed_by=actor,
        created_at=now,
        status=CompensationStatus.PROPOSED if needs_approval else CompensationStatus.APPROVED,
        decided_by=None if needs_approval else actor, decided_at=None if needs_approval else now,
    )
    if not needs_approval:
        webhook_compensation_decided(case, compensation)
    return compensation


@transaction.atomic
def compensation_decide(
    *, actor: User, compensation_id: int, approve: bool, note: str = ""
) -> Compensation:
    """A supervisor approves or rejects a compensation above the threshold."""
    compensation = Compensation.objects.select_related("case").get(pk=compensation_id)
    case = lock_case(compensation.case_id)
    compensation = Compensation.objects.select_for_update().get(pk=compensation_id)
    if not perms.can_approve_compensation(case, actor):
        raise ActionForbidden(_("Only a supervisor may approve compensation."))
    if compensation.status != CompensationStatus.PROPOSED:
        raise ActionNotAllowed(_("This compensation has already been decided."))
    compensation.status = CompensationStatus.APPROVED if approve else CompensationStatus.REJECTED
    compensation.decided_by, compensation.decided_at = actor, timezone.now()
    compensation.decision_note = (note or "").strip()[:300]
    compensation.save()
    webhook_compensation_decided(case, compensation)
    _save(case)
    return compensation
