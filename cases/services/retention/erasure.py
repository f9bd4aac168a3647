"""A customer's erasure request (PIPL art. 47): recorded, then carried out by a supervisor
with the same anonymisation as the retention sweep, or refused with the reason."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.choices import OPEN_STAGES
from cases.models import Case, Customer, ErasureRequest, ErasureStatus, LegalHold, User
from cases.models.audit import AuditAction
from cases.permissions import can_handle_erasure
from cases.services.audit import audit_record
from cases.services.errors import ActionForbidden, ActionNotAllowed

from .anonymise import anonymise_cases
from .scrubbing import Scrubber, contact_literals


@transaction.atomic
def erasure_request_record(*, actor: User | None, customer_id: int, received_at: datetime,
                           received_via: str = "", note: str = "") -> ErasureRequest:
    """Record a request as received (any staff member may write it down)."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise ActionNotAllowed(_("No such customer."))
    request = ErasureRequest.objects.create(
        customer=customer, received_at=received_at, received_via=received_via.strip(),
        note=note.strip(), recorded_by=actor,
    )
    audit_record(actor=actor, action=AuditAction.CREATE, target=request,
                 detail={"erasure_request": "received", "customer_id": customer_id})
    return request


def erasure_refusal(customer_id: int, now: datetime) -> str | None:
    """Why the customer's data cannot be erased now (None: it can): a case still open, or a
    case under a legal hold. Names the case so the supervisor can look it up."""
    open_case = (Case.objects.filter(customer_id=customer_id, stage__in=OPEN_STAGES)
                 .order_by("received_at").first())
    if open_case is not None:
        return _("Refused: case %(ref)s is still open (%(stage)s). The data can be erased "
                 "once it is closed.") % {"ref": open_case.reference,
                                           "stage": open_case.get_stage_display()}
    hold = (LegalHold.objects.active(now).filter(case__customer_id=customer_id)
            .select_related("case").order_by("until").first())
    if hold is not None:
        until = (date_format(timezone.localtime(hold.until), "DATE_FORMAT") if hold.until
                 else _("it is lifted"))
        return _("Refused: case %(ref)s is under a legal hold until %(until)s.") % {
            "ref": hold.case.reference, "until": until}
    return None


@transaction.atomic
def erasure_request_carry_out(*, actor: User, request_id: int) -> ErasureRequest:
    """Carry out (or refuse) one request. Preconditions: the actor is a supervisor; the request
    is not done. Refused while a case of the customer is open or under a legal hold (the
    request keeps the reason and can be carried out later). Otherwise every case of the
    customer and the customer lose their personal data, whatever the retention, and the
    request keeps only who decided, when and how many cases. Side effects: audit entries
    (one per case and for the customer, action ``erase``; one for the request)."""
    if not can_handle_erasure(actor):
        raise ActionForbidden(_("Only a supervisor can carry out an erasure request."))
    request = ErasureRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise ActionNotAllowed(_("No such erasure request."))
    if request.status == ErasureStatus.DONE:
        raise ActionNotAllowed(_("This erasure request was already carried out."))
    now = timezone.now()
    case_ids = list(Case.objects.select_for_update().filter(customer_id=request.customer_id)
                    .order_by("pk").values_list("pk", flat=True))
    refusal = erasure_refusal(request.customer_id, now)
    request.decided_by, request.decided_at = actor, now
    if refusal is not None:
        request.status, request.outcome = ErasureStatus.REFUSED, refusal
        request.save(update_fields=["status", "outcome", "decided_by", "decided_at"])
        audit_record(actor=actor, action=AuditAction.OTHER, target=request,
                     detail={"erasure_request": "refused", "reason": refusal})
        return request
    customer = Customer.objects.get(pk=request.customer_id)
    scrub = Scrubber(contact_literals(name=customer.name, phone=customer.phone,
                                      email=customer.email, wechat_openid=customer.wechat_openid))
    done = anonymise_cases(case_ids=case_ids, now=now, actor=actor, action=AuditAction.ERASE,
                           reason="erasure request", customer_ids=[request.customer_id])
    request.refresh_from_db(fields=["note", "received_via"])
    request.note, request.received_via = scrub.text(request.note), scrub.text(request.received_via)
    request.status, request.cases_erased = ErasureStatus.DONE, done.cases
    request.outcome = _("Done: %(n)d case(s) and the customer's contact data anonymised.") % {
        "n": done.cases}
    request.save()
    audit_record(actor=actor, action=AuditAction.ERASE, target=request,
                 detail={"erasure_request": "done", "cases": done.cases,
                         "customer_id": request.customer_id})
    return request
