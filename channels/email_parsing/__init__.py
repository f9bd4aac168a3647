"""Parsing of inbound complaint e-mail (pure Python, no Django)."""

from .parser import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    EmailParseError,
    ParsedEmail,
    SkippedAttachment,
    decode_bytes,
    decode_header_text,
    find_case_reference,
    html_to_text,
    parse_email,
)

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "Attachment",
    "EmailParseError",
    "ParsedEmail",
    "SkippedAttachment",
    "decode_bytes",
    "decode_header_text",
    "find_case_reference",
    "html_to_text",
    "parse_email",
]
