"""Inbound complaint e-mail: raw bytes from a mailbox to a :class:`ParsedEmail`.

Pure Python with no Django imports, so it can be tested and fuzzed without settings. One
concept per module: ``charsets`` (bytes to storable text), ``headers`` (encoded-words,
message-ids, dates), ``addresses``, ``html_text``, ``mime`` (body and attachments),
``auto_replies``, ``case_reference``, ``results`` (what is returned) and ``parser``
(``parse_email``, the entry point).
"""

from .case_reference import find_case_reference
from .charsets import decode_bytes
from .headers import decode_header_text
from .html_text import html_to_text
from .parser import DEFAULT_MAX_ATTACHMENT_BYTES, parse_email
from .results import Attachment, EmailParseError, ParsedEmail, SkippedAttachment

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
