"""``parse_email``: raw bytes from a mailbox to a :class:`ParsedEmail`.

The structure is parsed with ``email.policy.compat32``, whose parser never raises and keeps
undecodable bytes recoverable (surrogate-escaped); header values are decoded by
:mod:`.headers`. Intake that raised on messy mail would lose complaints, so the only error is
:class:`EmailParseError`, for input with neither a sender address nor any body.
"""

from __future__ import annotations

import hashlib
from email import policy
from email.message import Message
from email.parser import BytesParser

from .addresses import address_pairs
from .auto_replies import is_automatic
from .charsets import clean, decode_bytes
from .headers import decode_header_text, msgids, parse_date, raw_headers
from .mime import Collected, body_text, walk
from .results import EmailParseError, ParsedEmail

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Attachments above this (10 MiB) are not kept: they bloat storage and are rarely evidence."""

_MAX_ID_LENGTH = 255
"""Longer Message-IDs are replaced by a hash so they fit an ordinary indexed column."""


def _hashed_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _message_id(headers: dict[str, str], raw: bytes) -> str:
    """Normalised Message-ID, or a stable hash of the raw bytes so re-fetches deduplicate."""
    ids = msgids(headers.get("message-id"))
    if not ids:
        return _hashed_id(raw)
    msgid = ids[0]
    if len(msgid) > _MAX_ID_LENGTH:
        return _hashed_id(msgid.encode("utf-8", "replace"))
    return msgid


def _first(pairs: list[tuple[str, str]]) -> tuple[str, str]:
    return pairs[0] if pairs else ("", "")


def parse_email(
    raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
) -> ParsedEmail:
    """Parse raw RFC 5322 bytes into a :class:`ParsedEmail`.

    Never raises on arbitrary input except :class:`EmailParseError`, which means the bytes
    had neither a sender address nor any body text.  Attachments larger than
    ``max_attachment_bytes`` are not kept but listed in ``skipped_attachments``.
    """
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    elif isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    elif not isinstance(raw, bytes):
        raise TypeError(f"parse_email() expects bytes, got {type(raw).__name__}")

    try:
        msg: Message | None = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception:  # e.g. RecursionError on absurd nesting
        msg = None

    headers = raw_headers(msg) if msg is not None else {}
    collected = Collected()
    if msg is not None:
        try:
            walk(msg, collected, max_attachment_bytes)
        except Exception:  # keep whatever was collected before the failure
            pass
    elif raw.strip():
        collected.plain.append(clean(decode_bytes(raw)))

    from_name, from_address = _first(address_pairs(headers.get("from")))
    if not from_address:
        from_name, from_address = _first(address_pairs(headers.get("sender")))
    text = body_text(collected)
    if not from_address and not text:
        raise EmailParseError(
            "Cannot parse e-mail: it has no From address and no body text "
            f"({len(raw)} bytes of input)."
        )

    subject = decode_header_text(headers.get("subject"))
    in_reply_to_ids = msgids(headers.get("in-reply-to"))
    return ParsedEmail(
        message_id=_message_id(headers, raw),
        from_name=from_name,
        from_address=from_address,
        to_addresses=[addr for _name, addr in address_pairs(headers.get("to"))],
        subject=subject,
        date=parse_date(headers.get("date")),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=msgids(headers.get("references")),
        text=text,
        attachments=collected.attachments,
        skipped_attachments=collected.skipped,
        is_automatic=is_automatic(headers, from_address, subject, collected.report_types),
    )
