"""The MIME walk: body text and attachments collected from a parsed message tree.

Every accessor on a part tolerates malformed input (a broken boundary, a bad
transfer-encoding, an undecodable parameter), so one bad part never loses the rest.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from .charsets import SURROGATES, clean, decode_bytes, recover_bytes
from .headers import decode_header_text
from .html_text import html_to_text
from .results import Attachment, SkippedAttachment

_MAX_DEPTH = 30
"""Maximum MIME nesting we follow; deeper trees are almost certainly hostile."""


def _part_charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return charset if isinstance(charset, str) else None


def _part_payload(part: Message) -> bytes:
    """Transfer-decoded payload bytes (base64/QP/8bit); raw bytes if decoding fails."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    try:
        raw = part.get_payload()
    except Exception:
        return b""
    if isinstance(raw, str):
        return recover_bytes(raw)
    return b""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str | None:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        return None
    return disposition.lower() if isinstance(disposition, str) else None


def _raw_param(part: Message, name: str, header: str) -> str | None:
    """A header parameter, decoding RFC 2231 (charset'lang'%XX) and RFC 2047 forms."""
    try:
        value = part.get_param(name, header=header)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, tuple):
        charset, _language, text = value
        try:
            data = str(text).encode("latin-1")
        except UnicodeEncodeError:
            data = recover_bytes(str(text))
        return decode_bytes(data, charset or None)
    text = str(value)
    if SURROGATES.search(text):
        text = decode_bytes(recover_bytes(text))
    if "=?" in text:
        text = decode_header_text(text)
    return text


def _part_filename(part: Message) -> str | None:
    filename = _raw_param(part, "filename", "content-disposition")
    if not filename:
        filename = _raw_param(part, "name", "content-type")
    return filename or None


_UNSAFE_FILENAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def _sanitise_filename(filename: str | None, content_type: str, index: int) -> str:
    """Make a safe storage filename: no directories, no control characters, bounded length.

    Filenames come from the sender and may contain "../" or "C:\\" tricks; we keep only the
    last path component.
    """
    name = clean(filename or "", keep_newlines=False)
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_FILENAME_CHARS.sub("_", name).strip().strip(".").strip()
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{extension}"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: 199 - len(ext)]}.{ext}"
        else:
            name = name[:200]
    return name


@dataclass
class Collected:
    """Mutable accumulator used while walking the MIME tree."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[SkippedAttachment] = field(default_factory=list)
    report_types: set[str] = field(default_factory=set)


def walk(part: Message, out: Collected, max_bytes: int, depth: int = 0) -> None:
    """Collect body text and attachments; multipart/alternative contributes one body only."""
    if depth > _MAX_DEPTH:
        return
    content_type = _content_type(part)
    if content_type == "multipart/report":
        try:
            report_type = part.get_param("report-type")
        except Exception:
            report_type = None
        if isinstance(report_type, str):
            out.report_types.add(report_type.strip().lower())
    elif content_type == "message/delivery-status":
        out.report_types.add("delivery-status")
    try:
        is_multipart = part.is_multipart()
        children = part.get_payload() if is_multipart else None
    except Exception:
        is_multipart, children = False, None

    if is_multipart and content_type.startswith("multipart/") and isinstance(children, list):
        children = [c for c in children if isinstance(c, Message)]
        if content_type == "multipart/alternative":
            _walk_alternative(children, out, max_bytes, depth)
        else:
            for child in children:
                walk(child, out, max_bytes, depth + 1)
        return
    if content_type == "message/rfc822":
        _add_attachment(part, out, max_bytes, _embedded_message_bytes(part), "message.eml")
        return
    if content_type.startswith("message/") or content_type == "text/rfc822-headers":
        return  # delivery-status and similar machine reports: no human text, no files
    if is_multipart:
        return
    if content_type.startswith("multipart/"):
        # A multipart without a usable boundary: its payload is all we have, read it as text.
        text = decode_bytes(_part_payload(part), _part_charset(part))
        out.plain.append(clean(text))
        return

    disposition = _disposition(part)
    filename = _part_filename(part)
    # A named text part is a file the customer attached (Apple Mail marks those "inline"),
    # not part of what they wrote.
    is_body = (
        content_type in {"text/plain", "text/html"} and disposition != "attachment" and not filename
    )
    if is_body:
        text = decode_bytes(_part_payload(part), _part_charset(part))
        if content_type == "text/plain":
            out.plain.append(clean(text))
        else:
            out.html.append(text)
        return
    _add_attachment(part, out, max_bytes, None, filename)


def _walk_alternative(children: list[Message], out: Collected, max_bytes: int, depth: int) -> None:
    """Pick the plain-text alternative if any, else the HTML one; keep all attachments."""
    results = []
    for child in children:
        sub = Collected()
        walk(child, sub, max_bytes, depth + 1)
        results.append(sub)
    chosen = next((r for r in results if any(t.strip() for t in r.plain)), None)
    if chosen is None:
        chosen = next((r for r in results if any(t.strip() for t in r.html)), None)
    for sub in results:
        if sub is chosen:
            out.plain.extend(sub.plain)
            out.html.extend(sub.html)
        out.attachments.extend(sub.attachments)
        out.skipped.extend(sub.skipped)
        out.report_types |= sub.report_types


def _embedded_message_bytes(part: Message) -> bytes:
    try:
        inner = part.get_payload(0)
        return inner.as_bytes(policy=policy.compat32)
    except Exception:
        return _part_payload(part)


def _add_attachment(
    part: Message, out: Collected, max_bytes: int, payload: bytes | None, filename: str | None
) -> None:
    content_type = _content_type(part)
    index = len(out.attachments) + len(out.skipped) + 1
    name = _sanitise_filename(filename, content_type, index)
    data = _part_payload(part) if payload is None else payload
    size = len(data)
    if size > max_bytes:
        reason = f"too large: {size} bytes exceeds the {max_bytes}-byte limit"
        out.skipped.append(SkippedAttachment(name, content_type, size, reason))
    elif size == 0:
        out.skipped.append(SkippedAttachment(name, content_type, 0, "empty attachment"))
    else:
        out.attachments.append(Attachment(name, content_type, data, size))


def body_text(out: Collected) -> str:
    """Best plain-text body: all text/plain body parts, or failing that the HTML ones."""
    plain = [t.strip("\n") for t in out.plain if t.strip()]
    if plain:
        return "\n\n".join(plain).strip()
    html = [html_to_text(h) for h in out.html]
    return clean("\n\n".join(h for h in html if h)).strip()
