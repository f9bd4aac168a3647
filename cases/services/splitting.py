"""Splitting a complaint that holds two matters into two cases.

The new case goes through intake like any complaint (its own reference, tracking code and
acknowledgement to the customer, the same statutory regime), as received at the original's
receipt time: regulators count a complaint's time from its receipt, and the customer raised
the second matter then, so its clocks run from that moment (it may be due soon, or
breached, at once). The chosen notes and attachments move to it, marked as moved from the
original; the two cases are linked ("split off"), and the split is audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import Category, Stage
from cases.models import Case, CaseAttachment, CaseNote, CaseRegime, LinkKind, User
from cases.services.audit import AuditAction, audit_record
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.intake import case_intake
from cases.services.intake_input import CustomerData, IntakeData
from cases.services.merging import link_create
from cases.services.transitions import lock_case, save_case


def _chosen(model: type, case: Case, ids: list[int], field: str) -> list[int]:
    wanted = set(ids)
    found = set(model.objects.filter(case=case, pk__in=wanted).values_list("pk", flat=True))
    if found != wanted:
        raise InvalidInput(_("Choose only notes and files of this case."), field=field)
    return sorted(found)


@transaction.atomic
def case_split(
    *, actor: User, case_id: int, subject: str, description: str, category: str,
    note_ids: list[int] | None = None, attachment_ids: list[int] | None = None,
) -> Case:
    """Split a second matter off case ``case_id`` into a new case and return it.

    Preconditions (else DomainError, nothing changed): the case is open and not under
    review nor anonymised; ``actor`` may split it (``perms.can_merge``); subject and
    description are given; the notes and attachments chosen are the case's. Side effects:
    as ``case_intake`` (acknowledgement to the customer after commit), the moves, a link
    on both timelines, an audit entry."""
    original = lock_case(case_id)
    if not perms.can_merge(original, actor):
        raise ActionForbidden(_("Only its owner, its handler or a supervisor may split "
                                "%(ref)s.") % {"ref": original.reference})
    if original.stage in (Stage.CLOSED, Stage.INVALID, Stage.REVIEW) or original.anonymised_at:
        raise ActionNotAllowed(_("%(ref)s is %(stage)s: only an open case can be split.")
                               % {"ref": original.reference,
                                  "stage": original.get_stage_display()})
    subject, description = (subject or "").strip(), (description or "").strip()
    if not subject:
        raise InvalidInput(_("Give the new case a subject."), field="subject")
    if not description:
        raise InvalidInput(_("Describe the matter the new case is about."),
                           field="description")
    if category not in Category.values:
        raise InvalidInput(_("Choose a category."), field="category")
    notes = _chosen(CaseNote, original, note_ids or [], "notes")
    files = _chosen(CaseAttachment, original, attachment_ids or [], "attachments")
    customer = original.customer
    regime = CaseRegime.objects.filter(case=original).select_related("regime").first()
    result = case_intake(actor=actor, data=IntakeData(
        customer=CustomerData(name=customer.name, phone=customer.phone, email=customer.email,
                              preferred_channel=customer.preferred_channel,
                              is_key_customer=customer.is_key_customer,
                              language=customer.language),
        channel=original.channel, category=category, subject=subject, description=description,
        received_at=original.received_at, occurred_at=original.occurred_at,
        order_ref=original.order_ref, location=original.location,
        regime=regime.regime.code if regime else "",
    ))
    new = lock_case(result.case.pk)
    if new.customer_id != original.customer_id:  # the intake matched another customer
        raise ActionNotAllowed(_("The customer's contact data no longer identifies them: "
                                 "log the second matter as a new complaint."))
    # A split-off matter is not a repeat of the original, whatever intake's detection says.
    new.duplicate_of = None
    save_case(new)
    CaseNote.objects.filter(pk__in=notes).update(case=new, moved_from=original)
    CaseAttachment.objects.filter(pk__in=files).update(case=new, moved_from=original)
    link_create(original, new, actor=actor, kind=LinkKind.SPLIT)
    audit_record(actor=actor, action=AuditAction.CREATE, target=new, detail={
        "split_from": original.reference, "notes": len(notes), "attachments": len(files)})
    return new
