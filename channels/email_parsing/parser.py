"""Pure-Python parsing of inbound complaint e-mail.

This module turns the raw bytes fetched from a mailbox into a small, immutable
:class:`ParsedEmail` that the intake channel can store without knowing anything about
MIME.  It deliberately has no Django imports so it can be tested (and fuzzed) without
settings.

Why it is written the way it is:

* Customer mail in the wild is messy: Chinese mailers label GBK text as ``gb2312``, send
  raw 8-bit headers, invent charset names and truncate base64.  An intake pipeline that
  raises on such mail silently loses complaints, so :func:`parse_email` never raises on
  arbitrary bytes except for the single, deliberate :class:`EmailParseError` when there is
  nothing usable at all (no sender address *and* no body).
* The message *structure* is parsed with ``email.policy.compat32``: its parser never raises
  and keeps undecodable bytes recoverable (surrogate-escaped).  ``email.policy.default``
  parses headers lazily and raises on some malformed ones, and it decodes ``gb2312``
  encoded-words with the narrow GB2312 codec (mangling GBK-only characters such as "镕").
  We therefore decode header text ourselves, and use ``policy.default``'s address parser only
  as a best-effort helper when compat32's ``getaddresses`` finds nothing.
* Every string we return is safe to store in PostgreSQL: no NUL characters and no lone
  surrogates.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

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

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Attachments above this (10 MiB) are not kept: they bloat storage and are rarely evidence."""

_MAX_DEPTH = 30
"""Maximum MIME nesting we follow; deeper trees are almost certainly hostile."""

_MAX_ID_LENGTH = 255
"""Longer Message-IDs are replaced by a hash so they fit an ordinary indexed column."""


class EmailParseError(ValueError):
    """Raised when raw bytes contain neither a sender address nor any body text.

    Such input cannot become a complaint (nobody to answer, nothing to read), so the caller
    should log and drop it instead of creating an empty case.
    """


@dataclass(frozen=True)
class Attachment:
    """An attachment kept from the message (decoded payload, sanitised filename)."""

    filename: str
    content_type: str
    payload: bytes
    size: int


@dataclass(frozen=True)
class SkippedAttachment:
    """An attachment we deliberately did not keep, and why (so agents can ask for it)."""

    filename: str
    content_type: str
    size: int
    reason: str


@dataclass(frozen=True)
class ParsedEmail:
    """Everything the intake channel needs from one inbound message.

    ``message_id``, ``in_reply_to`` and ``references`` are normalised without angle
    brackets so they can be compared with each other and with ids we generated.
    """

    message_id: str
    from_name: str
    from_address: str
    to_addresses: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: list[SkippedAttachment] = field(default_factory=list)
    is_automatic: bool = False

    @property
    def case_reference(self) -> str | None:
        """The ``TS-YYYY-NNNNNN`` reference quoted in the subject, if any."""
        return find_case_reference(self.subject)


# --------------------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------------------

# GB2312-labelled mail very often contains GBK-only characters (e.g. names with "镕", "喆"),
# and GB18030 is a strict superset of both, so every GB-family label decodes with gb18030.
_CHARSET_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "936": "gb18030",
    "gb18030": "gb18030",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
}

# Labels that say "we don't know": better to sniff than to trust them.
_UNKNOWN_LABELS = frozenset(
    {"", "unknown", "unknown-8bit", "x-unknown", "us-ascii", "ascii", "none"}
)

_FALLBACK_CODECS = ("utf-8", "gb18030")


def _codec_for(label: str | None) -> str | None:
    """Map a MIME charset label to a usable Python *text* codec, or None if unusable.

    Python's codec registry also knows bytes-to-bytes codecs ("base64", "zlib", "rot13")
    which would raise or produce garbage, so only real text encodings are accepted.
    """
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    # RFC 2231 allows a language suffix: "utf-8*zh-cn".
    name = name.split("*", 1)[0]
    if name in _UNKNOWN_LABELS:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    if info.name in {"gb2312", "gbk"}:
        return "gb18030"
    if info.name in {"unicode-escape", "raw-unicode-escape", "idna", "punycode"}:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode bytes as text, never raising.

    Order: the labelled charset (strict), then UTF-8, then GB18030 (strict), then the
    labelled charset with replacement characters, then latin-1.  Trying the strict
    candidates first means a wrong or bogus label still yields readable text for the two
    encodings our customers actually use.
    """
    codec = _codec_for(charset)
    candidates = [codec] if codec else []
    candidates += [c for c in _FALLBACK_CODECS if c != codec]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except Exception:  # some codecs raise oddities, not just UnicodeError
            continue
    if codec:
        try:
            return data.decode(codec, errors="replace")
        except Exception:
            pass
    return data.decode("latin-1", errors="replace")


_SURROGATES = re.compile("[\ud800-\udfff]")
_BAD_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str, *, keep_newlines: bool = True) -> str:
    """Make text storable: no NUL/control characters and no lone surrogates."""
    text = _SURROGATES.sub("\ufffd", text)
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _BAD_CONTROLS.sub("", text)
    text = re.sub(r"[\r\n\t]+", " ", text)
    return _BAD_CONTROLS.sub("", text)


def _recover_bytes(value: str) -> bytes:
    """Undo compat32's surrogate-escaping so raw 8-bit header bytes can be decoded properly."""
    try:
        return value.encode("ascii", errors="surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="surrogateescape")


# --------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n[ \t]*")


def _decode_b(payload: str) -> bytes:
    """Lenient base64: ignore junk characters and fix missing padding (common in the wild)."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a single dangling character can never decode: drop it
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _decode_q(payload: str) -> bytes:
    """RFC 2047 "Q" encoding: underscores are spaces, =XX are bytes."""
    out = bytearray()
    i = 0
    raw = payload.encode("latin-1", errors="replace")
    while i < len(raw):
        ch = raw[i]
        if ch == ord("_"):
            out.append(0x20)
        elif ch == ord("=") and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(ch)
        i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def decode_header_text(value: str | None) -> str:
    """Decode a raw header value (RFC 2047 encoded-words and/or raw 8-bit) to clean text.

    Adjacent encoded-words in the same charset are joined *before* decoding because many
    mailers split a multi-byte character across two words.  Whitespace between adjacent
    encoded-words is dropped, as RFC 2047 requires.
    """
    if not value:
        return ""
    value = _FOLD.sub(" ", str(value))
    if _SURROGATES.search(value):
        # Raw 8-bit header (not RFC 2047): recover the bytes and sniff the charset.
        value = decode_bytes(_recover_bytes(value))
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if between and (between.strip() or not pending):
            flush()
            pieces.append(between)
        charset, encoding, payload = match.groups()
        data = _decode_b(payload) if encoding in "bB" else _decode_q(payload)
        codec = _codec_for(charset) or charset.lower()
        if pending and codec != pending_charset:
            flush()
        pending_charset = codec
        pending.extend(data)
        pos = match.end()
    flush()
    pieces.append(value[pos:])
    return _clean("".join(pieces), keep_newlines=False).strip()


def _raw_headers(msg: Message) -> dict[str, str]:
    """First occurrence of every header, raw (compat32 never parses values, so never raises)."""
    headers: dict[str, str] = {}
    try:
        items = msg.raw_items()
        for name, value in items:
            key = str(name).strip().lower()
            if key not in headers:
                headers[key] = value if isinstance(value, str) else str(value)
    except Exception:
        pass
    return headers


_MSGID_IN_BRACKETS = re.compile(r"<([^<>]*)>")


def _normalise_msgid(value: str) -> str:
    """Strip brackets and whitespace from one message-id token."""
    token = re.sub(r"\s+", "", value).strip("<>")
    return _clean(token, keep_newlines=False)


def _msgids(value: str | None) -> list[str]:
    """All message-ids in a header (bracketed ones, else whitespace-separated tokens)."""
    if not value:
        return []
    value = _FOLD.sub(" ", value)
    found = [_normalise_msgid(m) for m in _MSGID_IN_BRACKETS.findall(value)]
    if not found:
        found = [_normalise_msgid(tok) for tok in re.split(r"[\s,]+", value)]
    result: list[str] = []
    for msgid in found:
        if msgid and msgid not in result:
            result.append(msgid)
    return result


_ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+\-=!#$&'*/?^`{|}~]+@[A-Za-z0-9.\-\[\]:]+")


def _addresses(raw: str | None) -> list[tuple[str, str]]:
    """Parse an address header into (decoded display name, lower-cased address) pairs.

    Addresses are split *before* decoding encoded-words, so a decoded display name that
    contains a comma cannot break the list apart.  Raw 8-bit headers are decoded first.
    """
    if not raw:
        return []
    value = _FOLD.sub(" ", raw)
    if _SURROGATES.search(value):
        value = decode_bytes(_recover_bytes(value))
    pairs: list[tuple[str, str]] = []
    try:
        parsed = getaddresses([value])
    except Exception:
        parsed = []
    for name, addr in parsed:
        addr = _clean(addr, keep_newlines=False).strip().strip("<>").lower()
        if "@" in addr and " " not in addr:
            pairs.append((decode_header_text(name), addr))
    if not pairs:
        pairs = _addresses_via_policy_default(value)
    if not pairs:
        for addr in _ADDRESS_RE.findall(value):
            pairs.append(("", addr.strip(".").lower()))
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for name, addr in pairs:
        if addr not in seen:
            seen.add(addr)
            unique.append((name, addr))
    return unique


_ADDRESS_HEADERS = HeaderRegistry()


def _addresses_via_policy_default(value: str) -> list[tuple[str, str]]:
    """policy.default's RFC 5322 address parser copes with some syntax getaddresses rejects."""
    try:
        header = _ADDRESS_HEADERS("to", value)
        pairs = []
        for address in header.addresses:  # type: ignore[attr-defined]
            addr = _clean(address.addr_spec, keep_newlines=False).strip().lower()
            if "@" in addr and " " not in addr:
                pairs.append((_clean(address.display_name, keep_newlines=False), addr))
        return pairs
    except Exception:  # exactly the fragility we are guarding against
        return []


def _parse_date(raw: str | None) -> datetime | None:
    """Date header as an aware datetime; "-0000"/missing zones are taken as UTC."""
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(_FOLD.sub(" ", raw).strip())
    except Exception:  # ValueError, TypeError, IndexError, OverflowError...
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --------------------------------------------------------------------------------------
# HTML to text
# --------------------------------------------------------------------------------------

# Block elements end a line; "paragraph" elements also leave a blank line around them.
_PARAGRAPH_TAGS = frozenset(
    {"p", "table", "ul", "ol", "dl", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_LINE_TAGS = frozenset(
    {
        "div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address",
        "form", "fieldset", "center", "main", "nav", "aside", "figure", "caption", "body",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "title", "template", "noscript", "svg"})
_CELL_TAGS = frozenset({"td", "th"})


class _TextExtractor(HTMLParser):
    """Collects readable text: drops scripts/styles, turns block elements into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    def _ensure_newlines(self, count: int) -> None:
        """End the output with at least ``count`` newlines, so nested blocks don't stack up."""
        tail = "".join(self.parts[-8:]).rstrip(" \t")
        if not tail:
            return  # nothing written yet: no leading blank lines
        existing = len(tail) - len(tail.rstrip("\n"))
        if existing < count:
            self.parts.append("\n" * (count - existing))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0  # an unclosed <title>/<style> in <head> must not eat the body
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif self._skip_depth:
            return
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._ensure_newlines(2)
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _LINE_TAGS:
            self._ensure_newlines(1)
            if tag == "li":
                self.parts.append("- ")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            return  # <script/> has no content to skip
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif self._skip_depth:
            return
        elif tag in _PARAGRAPH_TAGS:
            self._ensure_newlines(2)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in _LINE_TAGS:
            self._ensure_newlines(1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(re.sub(r"[ \t\r\n\f\v]+", " ", data))


_LEFTOVER_TAG = re.compile(r"<[A-Za-z/!?][^<>]*(?:>|$)")


def html_to_text(html: str) -> str:
    """Convert HTML to readable plain text with the stdlib parser, never returning raw tags.

    Agents read complaints as text, and HTML-only mail (common from webmail and phones)
    would otherwise show markup or, worse, scripts.
    """
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:  # fall back to crude tag stripping rather than fail
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        text = re.sub(r"(?i)<br\s*/?>|</?(p|div|li|tr)\b[^>]*>", "\n", text)
    # Tags that a lenient parser passed through as data (e.g. a truncated "<div").
    text = _LEFTOVER_TAG.sub("", text)
    text = text.replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------------------
# Body and attachments
# --------------------------------------------------------------------------------------


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
        return _recover_bytes(raw)
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
            data = _recover_bytes(str(text))
        return decode_bytes(data, charset or None)
    text = str(value)
    if _SURROGATES.search(text):
        text = decode_bytes(_recover_bytes(text))
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
    name = _clean(filename or "", keep_newlines=False)
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
class _Collected:
    """Mutable accumulator used while walking the MIME tree."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[SkippedAttachment] = field(default_factory=list)
    report_types: set[str] = field(default_factory=set)


def _walk(part: Message, out: _Collected, max_bytes: int, depth: int = 0) -> None:
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
                _walk(child, out, max_bytes, depth + 1)
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
        out.plain.append(_clean(text))
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
            out.plain.append(_clean(text))
        else:
            out.html.append(text)
        return
    _add_attachment(part, out, max_bytes, None, filename)


def _walk_alternative(children: list[Message], out: _Collected, max_bytes: int, depth: int) -> None:
    """Pick the plain-text alternative if any, else the HTML one; keep all attachments."""
    results = []
    for child in children:
        sub = _Collected()
        _walk(child, sub, max_bytes, depth + 1)
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
    part: Message, out: _Collected, max_bytes: int, payload: bytes | None, filename: str | None
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


def _body_text(out: _Collected) -> str:
    """Best plain-text body: all text/plain body parts, or failing that the HTML ones."""
    plain = [t.strip("\n") for t in out.plain if t.strip()]
    if plain:
        return "\n\n".join(plain).strip()
    html = [html_to_text(h) for h in out.html]
    return _clean("\n\n".join(h for h in html if h)).strip()


# --------------------------------------------------------------------------------------
# Auto-replies and bounces
# --------------------------------------------------------------------------------------

_AUTOMATIC_SUBJECT = re.compile(
    r"""^\s*(?:\[[^\]]*\]\s*)?(?:
        auto(?:matic)?[\s_-]*(?:reply|replied|response|answer)
      | autoreply
      | out\s+of\s+(?:the\s+)?office
      | 自动回复 | 自動回覆 | 自动答复 | 自動回復
      | undeliverable | undelivered\s+mail | returned\s+mail
      | delivery\s+status\s+notification | delivery\s+(?:failure|failed|has\s+failed)
      | mail\s+delivery\s+(?:failed|failure|system|subsystem)
      | (?:系统)?退信 | 邮件投递失败 | 无法投递
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
_REPORT_TYPES = frozenset({"delivery-status", "disposition-notification"})


def _header_token(value: str | None) -> str:
    return _FOLD.sub(" ", value or "").split(";", 1)[0].strip().strip('"').lower()


def _is_automatic(
    headers: dict[str, str], from_address: str, subject: str, report_types: set[str]
) -> bool:
    """Whether the message was sent by a machine (auto-reply, bounce, bulk).

    Answering those would create reply loops and junk cases, so intake must skip them.
    """
    auto_submitted = _header_token(headers.get("auto-submitted"))
    if auto_submitted and auto_submitted != "no":
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers and _header_token(headers[name]) not in {"no", "false", "0"}:
            return True
    if _header_token(headers.get("precedence")) in _BULK_PRECEDENCE:
        return True
    return_path = headers.get("return-path")
    if return_path is not None and re.fullmatch(r"\s*<\s*>\s*", return_path):
        return True
    if report_types & _REPORT_TYPES:
        return True
    local_part = from_address.split("@", 1)[0]
    if local_part in _AUTOMATIC_SENDERS:
        return True
    raw_from = (headers.get("from") or "").lower()
    if "mailer-daemon" in raw_from:
        return True
    return bool(_AUTOMATIC_SUBJECT.search(subject))


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------

_CASE_REFERENCE = re.compile(r"(?<![A-Za-z0-9])TS-([0-9]{4})-([0-9]{6,})(?![0-9])", re.IGNORECASE)


def find_case_reference(subject: str | None) -> str | None:
    """Find a case reference like ``TS-2026-000123`` in a subject (case-insensitive).

    Replies to our notifications quote it ("Re: 回复：[TS-2026-000123] 订单问题"); matching it
    lets intake thread the reply onto the existing case.  Returned upper-cased.
    """
    if not subject:
        return None
    match = _CASE_REFERENCE.search(subject)
    if match is None:
        return None
    return f"TS-{match.group(1)}-{match.group(2)}"


def _fallback_message_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _message_id(headers: dict[str, str], raw: bytes) -> str:
    """Normalised Message-ID, or a stable hash of the raw bytes so re-fetches deduplicate."""
    ids = _msgids(headers.get("message-id"))
    if not ids:
        return _fallback_message_id(raw)
    msgid = ids[0]
    if len(msgid) > _MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(msgid.encode("utf-8", "replace")).hexdigest()
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

    headers = _raw_headers(msg) if msg is not None else {}
    collected = _Collected()
    if msg is not None:
        try:
            _walk(msg, collected, max_attachment_bytes)
        except Exception:  # keep whatever was collected before the failure
            pass
    elif raw.strip():
        collected.plain.append(_clean(decode_bytes(raw)))

    from_name, from_address = _first(_addresses(headers.get("from")))
    if not from_address:
        from_name, from_address = _first(_addresses(headers.get("sender")))
    text = _body_text(collected)
    if not from_address and not text:
        raise EmailParseError(
            "Cannot parse e-mail: it has no From address and no body text "
            f"({len(raw)} bytes of input)."
        )

    subject = decode_header_text(headers.get("subject"))
    in_reply_to_ids = _msgids(headers.get("in-reply-to"))
    return ParsedEmail(
        message_id=_message_id(headers, raw),
        from_name=from_name,
        from_address=from_address,
        to_addresses=[addr for _name, addr in _addresses(headers.get("to"))],
        subject=subject,
        date=_parse_date(headers.get("date")),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=_msgids(headers.get("references")),
        text=text,
        attachments=collected.attachments,
        skipped_attachments=collected.skipped,
        is_automatic=_is_automatic(headers, from_address, subject, collected.report_types),
    )
