"""Writing to the customer from the case: replies through the outbox, and sending a failed
one again.

A reply is a customer-visible ``reply`` note linked to its outbox row (``CaseNote.notice``),
written with its files in one transaction and sent by a worker after commit, exactly once
(``cases.services.outbox``). E-mail carries the files; SMS and WeChat carry the text, and when
files are attached an e-mail copy with the files goes to the customer's address as well (a
customer without one cannot be sent files by SMS or WeChat: the reply is refused).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT, OPEN_STAGES, ContactChannel, NoteKind
from cases.models import Case, CaseAttachment, CaseNote, Notice, User
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.attachments import atomic_with_files, attach_files, attachments_check
from cases.services.awaiting_reply import customer_answered
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.intake_input import clean_text
from cases.services.lifecycle import record_first_response
from cases.services.notices import delivery_options, notice_key, notice_message_id
from cases.services.outbox import notice_dispatch_on_commit, notice_resend
from cases.services.transitions import lock_case, save_case

FILES_COPY = "files"  # the idempotency-key suffix of an e-mail copy carrying the files


def reply_text_check(body: str) -> str:
    """The reply's text, cleaned; InvalidInput(field="body") when empty or too long."""
    text = clean_text(body).strip()
    if not text:
        raise InvalidInput(_("Write the reply."), field="body")
    if len(text) > MAX_FREE_TEXT:
        raise InvalidInput(_("The reply is too long (at most %(n)d characters).")
                           % {"n": MAX_FREE_TEXT}, field="body")
    return text


def case_send_reply(
    *, actor: User, case_id: int, body: str, channel: str,
    files: Sequence[UploadedFile] = (), version: int | None = None,
) -> CaseNote:
    """Write ``body`` to the case's customer on ``channel`` (one they have an address for).

    Preconditions: the actor may reply (``permissions.can_reply``); the case is not closed;
    the text is not empty and at most MAX_FREE_TEXT; files pass the intake checks, and go by
    e-mail (with SMS or WeChat, an e-mail copy carries them: the customer needs an address).
    ``version``: the case version the actor saw (ConflictError when it moved on). Otherwise
    raises InvalidInput / ActionNotAllowed / ActionForbidden and writes nothing.
    Side effects, in one transaction: the ``reply`` note (visible on /track/), its files, the
    outbox row(s), the first-response clock stopped by the first reply; the notices are
    dispatched after commit."""
    text = reply_text_check(body)
    checked = attachments_check(files)
    with atomic_with_files():
        case = lock_case(case_id, version)
        if not perms.can_reply(case, actor):
            raise ActionForbidden(_("You may not write to the customer of this case."))
        if case.stage not in OPEN_STAGES:
            raise ActionNotAllowed(_("The case is closed; reopen it first."))
        addresses = dict(delivery_options(case.customer))
        if channel not in addresses:
            raise InvalidInput(_("The customer has no address on this channel."),
                               field="channel")
        if checked and ContactChannel.EMAIL not in addresses:
            raise InvalidInput(
                _("Files can only be sent by e-mail and this customer has no e-mail address: "
                  "remove the files, or keep them on the case with an internal note."),
                field="files")
        now = timezone.now()
        note = CaseNote.objects.create(case=case, kind=NoteKind.REPLY, author=actor, body=text,
                                       visible_to_customer=True, created_at=now)
        rows = attach_files(case=case, files=checked, actor=actor, note=note)
        notices = [_reply_notice(case, note, channel, addresses[channel], rows)]
        if rows and channel != ContactChannel.EMAIL:
            notices.append(_reply_notice(case, note, ContactChannel.EMAIL,
                                         addresses[ContactChannel.EMAIL], rows, copy=True))
        for notice in notices:
            notice.save(force_insert=True)
        note.notice = notices[0]
        note.save(update_fields=["notice"])
        record_first_response(case, actor, now)
        customer_answered(case)
        clocks.refresh_case_sla(case)
        save_case(case)
        notice_dispatch_on_commit([n.pk for n in notices])
    return note


def _reply_notice(
    case: Case, note: CaseNote, channel: str, recipient: str, rows: list[CaseAttachment],
    *, copy: bool = False,
) -> Notice:
    """The unsaved outbox row of a reply: e-mail carries ``rows`` (their ids in the context);
    a text channel says where the files went."""
    language = case.customer.language or "zh-hans"
    body = note.body
    with translation.override(language):
        subject = _("Re: your complaint %(ref)s") % {"ref": case.reference}
        if rows and channel != ContactChannel.EMAIL:
            body += "\n" + ngettext("(We sent you %(n)d file by e-mail.)",
                                    "(We sent you %(n)d files by e-mail.)",
                                    len(rows)) % {"n": len(rows)}
    by_email = channel == ContactChannel.EMAIL
    key = str(note.pk) + (f":{FILES_COPY}" if copy else "")
    idempotency_key = notice_key(case, NoticeKind.REPLY, key)
    return Notice(
        case=case, kind=NoticeKind.REPLY, channel=channel, recipient=recipient,
        language=language, subject=subject[:200], body=body,
        context={"reference": case.reference, "note_id": note.pk,
                 "attachment_ids": [r.pk for r in rows] if by_email else []},
        idempotency_key=idempotency_key, created_at=timezone.now(),
        message_id=notice_message_id(channel, idempotency_key),
    )


@transaction.atomic
def reply_resend(*, actor: User, case_id: int, notice_id: int) -> Notice:
    """Send a failed or uncertain reply of this case again (``permissions.can_resend_reply``:
    its author, the case's owner or handler, a supervisor, an outbox operator). Raises
    ActionForbidden / ActionNotAllowed (a reply that was sent or is on its way); dispatches
    after commit."""
    case = lock_case(case_id)
    notice = Notice.objects.filter(pk=notice_id, case=case, kind=NoticeKind.REPLY).first()
    if notice is None:
        raise ActionNotAllowed(_("This reply does not exist."))
    author_id = (CaseNote.objects.filter(pk=notice.context.get("note_id"), case=case)
                 .values_list("author_id", flat=True).first())
    if not perms.can_resend_reply(case, author_id, actor):
        raise ActionForbidden(_("You may not send this reply again."))
    return notice_resend(actor=actor, notice_id=notice.pk, authorised=True)
