"""Messages from the customer on an existing case (e.g. a reply by e-mail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import NoteKind
from cases.models import Alert, Case, CaseNote
from cases.services.awaiting_reply import customer_wrote
from cases.services.intake import clean_text
from cases.services.pauses import resume_on_customer_message
from cases.services.transitions import lock_case

ALERT_CUSTOMER_MESSAGE = "customer_message"
ALERT_UNVERIFIED_MESSAGE = "unverified_message"


@dataclass(frozen=True)
class CustomerMessageResult:
    note: CaseNote
    created: bool  # False: ``message_id`` was seen before and nothing was written


@transaction.atomic
def case_add_customer_message(
    *, case_id: int, body: str, message_id: str = "", notes: Sequence[str] = (),
    unverified_sender: str = "",
) -> CustomerMessageResult:
    """A message from the customer joins their case.

    Locks the case and writes a ``customer_message`` note (visible to the customer on the
    tracking page: it is their own words), one internal note per entry of ``notes`` (e.g.
    attachments the channel refused), and an alert for the case's owner and handler so the
    message is not missed, and puts the case in the "Customer replied" queue
    (``awaiting_reply_since``) until an agent answers. A verified message ends a pause whose
    reason waits on the customer (``cases.services.pauses.resume_on_customer_message``).
    Idempotent on ``message_id``: a message seen before returns its note with
    ``created=False`` and writes nothing. A channel
    that keeps attachments stores them in the same transaction, on the returned note's case,
    only when ``created``.
    With ``unverified_sender`` (the channel could not tell that the customer sent it) the
    note is an ``unverified_message`` for staff only, never visible to the customer, recording
    that sender, and the alert says it is unverified.
    Raises ActionNotAllowed when the case does not exist."""
    case = lock_case(case_id)
    external_id = message_id[:255]
    if external_id:
        existing = CaseNote.objects.filter(case=case, external_message_id=external_id).first()
        if existing is not None:
            return CustomerMessageResult(existing, created=False)
    now = timezone.now()
    verified = not unverified_sender
    note = CaseNote.objects.create(
        case=case, body=clean_text(body).strip() or "-",
        kind=NoteKind.CUSTOMER_MESSAGE if verified else NoteKind.UNVERIFIED_MESSAGE,
        visible_to_customer=verified, sender=clean_text(unverified_sender)[:254],
        external_message_id=external_id, created_at=now,
    )
    CaseNote.objects.bulk_create([
        CaseNote(case=case, kind=NoteKind.INTERNAL, body=text, created_at=now) for text in notes
    ])
    if verified:
        kind = ALERT_CUSTOMER_MESSAGE
        message = _("New message from the customer on %(ref)s") % {"ref": case.reference}
    else:
        kind = ALERT_UNVERIFIED_MESSAGE
        message = _("Unverified message on %(ref)s from %(sender)s: not from the customer's "
                    "address, not shown to the customer") % {"ref": case.reference,
                                                              "sender": note.sender}
    Alert.objects.bulk_create([
        Alert(recipient_id=uid, case=case, kind=kind, created_at=now, message=message[:300])
        for uid in {case.owner_id, case.handler_id} - {None}
    ])
    customer_wrote(case, now)
    if verified and resume_on_customer_message(case):  # saves the case, the field with it
        return CustomerMessageResult(note, created=True)
    # The case changed for its readers, not for its workflow: no version bump, so a desk
    # form open on it is not turned into a conflict by the customer's message.
    Case.objects.filter(pk=case.pk).update(updated_at=now,
                                           awaiting_reply_since=case.awaiting_reply_since)
    return CustomerMessageResult(note, created=True)
