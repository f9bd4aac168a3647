"""A customer's message from a text channel (an SMS gateway, the WeChat bridge, an app) on a
case they have: ``POST /api/v1/complaints/<reference>/messages``. It joins the case's thread
as the customer's words when the sender is the case's customer (same phone number or WeChat
id or e-mail address); from anyone else it is kept for staff only as an unverified message,
as an e-mail from a stranger's address is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cases.models import Case, Customer
from cases.selectors import REFERENCE_RE
from cases.services.messages import CustomerMessageResult
from channels import attachments as files
from channels.services import customer_message_submit


@dataclass(frozen=True)
class ChannelSender:
    """Who the channel says sent the message (at least one of them is given)."""

    phone: str = ""
    wechat_openid: str = ""
    email: str = ""

    def label(self) -> str:
        return " / ".join(v for v in (self.phone, self.wechat_openid, self.email) if v)


def _phone_digits(value: str) -> str:
    """A mainland number as its national digits: spaces, dashes, "+86" / "0086" dropped."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def sender_is_customer(customer: Customer, sender: ChannelSender) -> bool:
    """Whether ``sender`` is ``customer``: any given identifier equals theirs (phone numbers
    compared by their digits, e-mail without letter case). Pure."""
    if sender.phone and _phone_digits(sender.phone) and (
            _phone_digits(sender.phone) == _phone_digits(customer.phone)):
        return True
    if sender.wechat_openid and sender.wechat_openid == customer.wechat_openid:
        return True
    return bool(sender.email) and sender.email.casefold() == (customer.email or "").casefold()


def case_for_reference(reference: str) -> Case | None:
    """The case with this reference (any letter case), or None; no query for a malformed
    reference."""
    if not REFERENCE_RE.match(reference or ""):
        return None
    return Case.objects.select_related("customer").filter(reference=reference.upper()).first()


def channel_message_submit(
    *, case: Case, channel_code: str, message_id: str, text: str, sender: ChannelSender,
    attachments: list[files.CheckedFile] | None = None,
) -> CustomerMessageResult:
    """Add the message to ``case``'s thread (``customer_message_submit``: note, alerts, the
    "Customer replied" queue, a pause waiting on the customer ended, attachments on the
    note). Idempotent on the channel's ``message_id``: a repeat returns the first message
    with ``created=False`` and writes nothing. Preconditions: the attachments were checked."""
    verified = sender_is_customer(case.customer, sender)
    return customer_message_submit(
        case_id=case.pk, body=text, message_id=f"{channel_code}:{message_id}",
        attachments=attachments or None,
        unverified_sender="" if verified else sender.label(),
    )
