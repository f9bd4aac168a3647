"""Domain actions of the intake channels. Every channel (web form, desk, API, e-mail, import)
ends in ``complaint_submit``, which wraps the one intake path (``cases.services.case_intake``)
and the case's attachments in one transaction: a case is never half-written, and files of a
rolled-back case are removed again. A customer's later message (an e-mail reply) goes through
``customer_message_submit`` the same way, around ``cases.services.case_add_customer_message``."""

from __future__ import annotations

from django.db import transaction

from cases.models import CaseAttachment, User
from cases.services import IntakeData, IntakeResult, case_add_customer_message, case_intake
from cases.services.messages import CustomerMessageResult
from channels import attachments as files
from channels.models import Channel


def channel_for(code: str) -> Channel:
    return Channel.objects.get(code=code)


def complaint_submit(
    *, actor: User | None, data: IntakeData, attachments: list[files.CheckedFile] | None = None,
    notes: list[str] | None = None, bulk: bool = False,
) -> IntakeResult:
    """Create the case (or find the retried one) and keep its attachments.

    Preconditions: attachments were checked with ``channels.attachments.check``. Raises
    InvalidInput (nothing written) when the complaint is not acceptable. A retry of an
    existing ``external_id`` stores nothing new. ``notes`` are internal notes for the desk
    (e.g. attachments we refused), written only when the case is created. ``bulk``: see
    ``case_intake``."""
    if notes:
        data.extra_notes = [*data.extra_notes, *notes]
    if not attachments:
        # case_intake is atomic itself: no outer transaction (and no savepoint) needed.
        return case_intake(actor=actor, data=data, bulk=bulk)
    stored: list[CaseAttachment] = []
    try:
        with transaction.atomic():
            result = case_intake(actor=actor, data=data, bulk=bulk)
            if result.created:
                stored = files.store(result.case, attachments)
    except BaseException:
        files.discard(stored)
        raise
    return result


def customer_message_submit(
    *, case_id: int, body: str, message_id: str = "",
    attachments: list[files.CheckedFile] | None = None, notes: list[str] | None = None,
    unverified_sender: str = "",
) -> CustomerMessageResult:
    """A customer's message joins their case, with its attachments, all or nothing.

    Preconditions: attachments were checked with ``channels.attachments.check``. The case's
    side (note, internal ``notes``, alerts, idempotency on ``message_id``) is
    ``cases.services.case_add_customer_message``; this keeps the files in the same
    transaction, linked to the message's note, only for a message not seen before, and
    removes them again if it rolls back. ``unverified_sender``: the channel could not
    verify the customer sent it; the message is then kept for staff only (see the service)."""
    if not attachments:
        # the service is atomic itself: no outer transaction (and no savepoint) needed.
        return case_add_customer_message(case_id=case_id, body=body, message_id=message_id,
                                         notes=notes or (), unverified_sender=unverified_sender)
    stored: list[CaseAttachment] = []
    try:
        with transaction.atomic():
            result = case_add_customer_message(case_id=case_id, body=body,
                                               message_id=message_id, notes=notes or (),
                                               unverified_sender=unverified_sender)
            if result.created:
                stored = files.store(result.note.case, attachments, note=result.note)
    except BaseException:
        files.discard(stored)
        raise
    return result
