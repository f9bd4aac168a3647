"""Legal holds: set and lifted by supervisors and admins, recorded in the audit trail."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, LegalHold, User
from cases.models.audit import AuditAction
from cases.permissions import can_manage_legal_holds
from cases.services.audit import audit_record
from cases.services.errors import ActionForbidden, InvalidInput


def legal_hold_problem(*, case: Case | None, reason: str, until: datetime | None,
                       now: datetime) -> tuple[str, str] | None:
    """What is wrong with a hold about to be set, as (field, message); None: nothing."""
    if case is None:
        return "case", _("No such case.")
    if case.anonymised_at is not None:
        return "case", _("This case was anonymised: there is no personal data to hold.")
    if not reason.strip():
        return "reason", _("Give the reason for the legal hold.")
    if until is not None and until <= now:
        return "until", _("The end of a legal hold must be in the future.")
    return None


@transaction.atomic
def legal_hold_set(*, actor: User, case_id: int, reason: str,
                   until: datetime | None = None) -> LegalHold:
    """Suspend anonymisation and erasure of a case. Preconditions: the actor is a supervisor
    or an admin; a reason; ``until`` in the future if given. Side effect: an audit entry."""
    if not can_manage_legal_holds(actor):
        raise ActionForbidden(_("Only a supervisor or an admin can set a legal hold."))
    text = (reason or "").strip()
    now = timezone.now()
    case = Case.objects.filter(pk=case_id).first()
    problem = legal_hold_problem(case=case, reason=text, until=until, now=now)
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])
    hold = LegalHold.objects.create(case=case, reason=text, set_by=actor, set_at=now,
                                    until=until)
    audit_record(actor=actor, action=AuditAction.CREATE, target=hold,
                 detail={"legal_hold": "set", "until": until.isoformat() if until else None})
    return hold


@transaction.atomic
def legal_hold_lift(*, actor: User, hold_id: int) -> LegalHold:
    """End a hold now. Lifting a hold already lifted changes nothing."""
    if not can_manage_legal_holds(actor):
        raise ActionForbidden(_("Only a supervisor or an admin can lift a legal hold."))
    hold = LegalHold.objects.select_for_update().get(pk=hold_id)
    if hold.lifted_at is not None:
        return hold
    hold.lifted_at, hold.lifted_by = timezone.now(), actor
    hold.save(update_fields=["lifted_at", "lifted_by"])
    audit_record(actor=actor, action=AuditAction.CHANGE, target=hold,
                 changes={"lifted_at": (None, hold.lifted_at)})
    return hold
