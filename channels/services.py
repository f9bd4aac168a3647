"""Domain actions of the intake channels. Every channel (web form, desk, API, e-mail, import)
ends in ``complaint_submit``, which wraps the one intake path (``cases.services.case_intake``)
and the case's attachments in one transaction: a case is never half-written, and files of a
rolled-back case are removed again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import NoteKind
from cases.models import Alert, Case, CaseAttachment, CaseNote, User
from cases.services import IntakeData, IntakeResult, case_intake
from cases.services.intake import clean_text
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


def case_add_customer_message(
    *, case_id: int, body: str, message_id: str = "",
    attachments: list[files.CheckedFile] | None = None, notes: list[str] | None = None,
) -> CaseNote:
    """A message from the customer joins their case (e.g. a reply by e-mail).

    Locks the case, writes a ``customer_message`` note (visible to the customer on the
    tracking page: it is their own words) and its attachments, and alerts the case's owner
    and handler so the message is not missed. Idempotent on ``message_id``."""
    stored: list[CaseAttachment] = []
    try:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case_id)
            if message_id:
                existing = CaseNote.objects.filter(
                    case=case, external_message_id=message_id[:255]
                ).first()
                if existing is not None:
                    return existing
            now = timezone.now()
            note = CaseNote.objects.create(
                case=case, kind=NoteKind.CUSTOMER_MESSAGE, body=clean_text(body).strip() or "-",
                visible_to_customer=True, external_message_id=message_id[:255],
                created_at=now,
            )
            for text in notes or []:
                CaseNote.objects.create(case=case, kind=NoteKind.INTERNAL, body=text,
                                        created_at=now)
            if attachments:
                stored = files.store(case, attachments)
            recipients = {uid for uid in (case.owner_id, case.handler_id) if uid}
            Alert.objects.bulk_create([
                Alert(recipient_id=uid, case=case, kind="customer_message", created_at=now,
                      message=_("New message from the customer on %(ref)s")
                      % {"ref": case.reference})
                for uid in recipients
            ])
            Case.objects.filter(pk=case.pk).update(updated_at=now)
    except BaseException:
        files.discard(stored)
        raise
    return note
