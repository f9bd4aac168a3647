"""E-mail intake: one inbound message becomes a new case, or a message on the case it answers
(a per-case reply address among its recipients, else a message the desk sent named in its
In-Reply-To / References, else the reference its subject quotes). A reply keeps only the
customer's new text (``reply_text``: quote and signature removed); the e-mail as received is
kept as an .eml attachment of the message. It speaks as the customer only from the
customer's address or through a valid reply address; anything else is kept as an
unverified message for staff. Auto-replies and bounces are
ignored. Each message is processed once: its Message-ID is claimed in the same transaction
that stores its effect, so a second run (or a second worker) finds it claimed and does
nothing."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cases.choices import Category, ChannelKind, ContactChannel
from cases.models import Case, Notice
from cases.services import CustomerData, IntakeData, InvalidInput
from channels import attachments as files
from channels.email_parsing import EmailParseError, ParsedEmail, parse_email
from channels.email_parsing.reply_text import reply_text
from channels.models import InboundMessage
from channels.reply_address import case_id_from_addresses
from channels.services import channel_for, complaint_submit, customer_message_submit

logger = logging.getLogger(__name__)

_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class EmailOutcome:
    outcome: str  # created / joined / unverified / ignored / rejected / duplicate
    message_id: str
    case: Case | None = None
    detail: str = ""


def _attachments(parsed: ParsedEmail) -> tuple[list[files.CheckedFile], list[str]]:
    """Checked attachments, and a note line per attachment we did not keep."""
    kept, refused = [], []
    for item in parsed.attachments[: files.MAX_FILES * 2]:
        try:
            kept.append(files.check(files.IncomingFile(item.filename, item.payload),
                                    item.content_type))
        except files.AttachmentRejected as exc:
            refused.append(str(exc))
    for item in parsed.attachments[files.MAX_FILES * 2:]:
        refused.append(_("“%(name)s” was not kept: too many attachments.")
                       % {"name": item.filename})
    for skipped in parsed.skipped_attachments:
        refused.append(_("“%(name)s” was not kept: %(reason)s")
                       % {"name": skipped.filename, "reason": skipped.reason})
    notes = []
    if refused:
        notes.append(_("Attachments not kept from the e-mail (ask the customer if needed):")
                     + "\n" + "\n".join(f"- {line}" for line in refused))
    return kept, notes


def _claim(message_id: str, outcome: str, case: Case | None = None, detail: str = "") -> None:
    InboundMessage.objects.create(message_id=message_id[:255], outcome=outcome, case=case,
                                  detail=detail[:300])


def _language(text: str) -> str:
    """Chinese unless the mail is mostly Latin letters (a Chinese line in an English mail, or
    an English word in a Chinese one, does not decide it)."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "en" if latin > 4 * cjk else "zh-hans"


def _external_id(message_id: str) -> str:
    if len(message_id) <= 120:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _new_case_data(parsed: ParsedEmail) -> IntakeData:
    name = parsed.from_name or parsed.from_address.split("@", 1)[0]
    text = parsed.text.strip() or _("(The e-mail has no text; see its attachments.)")
    subject = parsed.subject.strip() or text.splitlines()[0][:80]
    language = _language(f"{parsed.subject}\n{parsed.text[:2000]}")
    return IntakeData(
        customer=CustomerData(name=name[:100], email=parsed.from_address,
                              preferred_channel=ContactChannel.EMAIL, language=language),
        channel=ChannelKind.EMAIL, source_id=channel_for("email").pk,
        external_id=_external_id(parsed.message_id), category=Category.OTHER,
        subject=subject[:200], description=text[:20000],
    )


def _case_replied_to(parsed: ParsedEmail) -> int | None:
    """The case of the latest message the desk sent that this mail names in In-Reply-To or
    References (``Notice.message_id``), or None."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i][:20]
    if not ids:
        return None
    found = dict(Notice.objects.filter(message_id__in=ids, case__isnull=False)
                 .values_list("message_id", "case_id"))
    return next((found[i] for i in ids if i in found), None)


def _case_answered(parsed: ParsedEmail) -> tuple[Case | None, bool]:
    """The case the mail answers, and whether it may speak as that case's customer: sent to
    the case's reply address, or from the customer's own address (the parsed From, compared
    without case; Reply-To plays no part). A reply to our e-mail (In-Reply-To) is found
    without the reference in its subject, and still needs the customer's address."""
    cases = Case.objects.select_related("customer")
    case_id = case_id_from_addresses(parsed.to_addresses)
    if case_id is not None:
        case = cases.filter(pk=case_id).first()
        if case is not None:
            return case, True
    replied_to = _case_replied_to(parsed)
    reference = parsed.case_reference
    if replied_to is not None:
        case = cases.filter(pk=replied_to).first()
    else:
        case = cases.filter(reference=reference).first() if reference else None
    if case is None:
        return None, False
    customer_email = (case.customer.email or "").strip().casefold()
    return case, bool(customer_email) and parsed.from_address.casefold() == customer_email


def _reply_body(parsed: ParsedEmail) -> str:
    """The customer's new words in a reply (the quoted thread and signature removed)."""
    text = reply_text(parsed.text)
    if text:
        return text
    if parsed.text.strip():
        return _("(The e-mail has no new text, only the quoted thread; the original e-mail "
                 "is attached.)")
    return _("(The e-mail has no text; see its attachments.)")


def _original(parsed: ParsedEmail, raw: bytes) -> files.CheckedFile:
    """The e-mail as received, kept beside the message so nothing the quote stripping
    removed is lost. Not size-checked: its own attachments were checked one by one."""
    stem = re.sub(r"[^\w\-]+", "-", parsed.subject, flags=re.UNICODE).strip("-")[:60]
    return files.CheckedFile(files.clean_filename(stem or "email", "message/rfc822"),
                             "message/rfc822", raw)


def ingest_email(raw: bytes) -> EmailOutcome:
    """Process one raw message (from IMAP or an .eml file). Never raises on bad mail: the
    outcome says what happened; only database failures propagate (so the caller retries)."""
    try:
        parsed = parse_email(raw)
    except EmailParseError as exc:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        return _record_only(message_id, "rejected", str(exc))
    if parsed.is_automatic:
        return _record_only(parsed.message_id, "ignored", _("automatic reply or bounce"))
    if not parsed.from_address:
        return _record_only(parsed.message_id, "rejected", _("no sender address"))
    if InboundMessage.objects.filter(message_id=parsed.message_id[:255]).exists():
        return EmailOutcome("duplicate", parsed.message_id)
    kept, notes = _attachments(parsed)
    case, verified = _case_answered(parsed)
    try:
        with transaction.atomic():
            if case is not None:
                outcome = "joined" if verified else "unverified"
                _claim(parsed.message_id, outcome, case)
                sender = f"{parsed.from_name} <{parsed.from_address}>".strip()
                customer_message_submit(case_id=case.pk, body=_reply_body(parsed),
                                        message_id=parsed.message_id,
                                        attachments=[*kept, _original(parsed, raw)],
                                        notes=notes, unverified_sender="" if verified else sender)
                return EmailOutcome(outcome, parsed.message_id, case)
            _claim(parsed.message_id, "created")
            result = complaint_submit(actor=None, data=_new_case_data(parsed), attachments=kept,
                                      notes=notes)
            InboundMessage.objects.filter(message_id=parsed.message_id[:255]).update(
                case=result.case)
            return EmailOutcome("created", parsed.message_id, result.case)
    except IntegrityError:
        # Another run claimed this Message-ID first (or stored the case): nothing to do.
        return EmailOutcome("duplicate", parsed.message_id)
    except InvalidInput as exc:
        detail = "; ".join(f"{f}: {m}" for f, m in getattr(exc, "errors", [(exc.field,
                                                                             exc.message)]))
        return _record_only(parsed.message_id, "rejected", detail)


def _record_only(message_id: str, outcome: str, detail: str) -> EmailOutcome:
    try:
        with transaction.atomic():
            _claim(message_id, outcome, detail=detail)
    except IntegrityError:
        return EmailOutcome("duplicate", message_id, detail=detail)
    logger.info("inbound e-mail %s: %s", outcome, detail)
    return EmailOutcome(outcome, message_id, detail=detail)
