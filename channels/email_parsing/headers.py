"""Header values: RFC 2047 encoded-words, raw 8-bit text, message-ids and dates.

compat32 leaves header values unparsed (so it never raises on them); they are decoded here,
leniently, instead of by ``email.policy.default``, which raises on some malformed headers and
decodes ``gb2312`` words with the narrow codec.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from .charsets import SURROGATES, clean, codec_for, decode_bytes, recover_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
FOLD = re.compile(r"\r?\n[ \t]*")


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
    value = FOLD.sub(" ", str(value))
    if SURROGATES.search(value):
        # Raw 8-bit header (not RFC 2047): recover the bytes and sniff the charset.
        value = decode_bytes(recover_bytes(value))
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
        codec = codec_for(charset) or charset.lower()
        if pending and codec != pending_charset:
            flush()
        pending_charset = codec
        pending.extend(data)
        pos = match.end()
    flush()
    pieces.append(value[pos:])
    return clean("".join(pieces), keep_newlines=False).strip()


def raw_headers(msg: Message) -> dict[str, str]:
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
    return clean(token, keep_newlines=False)


def msgids(value: str | None) -> list[str]:
    """All message-ids in a header (bracketed ones, else whitespace-separated tokens)."""
    if not value:
        return []
    value = FOLD.sub(" ", value)
    found = [_normalise_msgid(m) for m in _MSGID_IN_BRACKETS.findall(value)]
    if not found:
        found = [_normalise_msgid(tok) for tok in re.split(r"[\s,]+", value)]
    result: list[str] = []
    for msgid in found:
        if msgid and msgid not in result:
            result.append(msgid)
    return result


def parse_date(raw: str | None) -> datetime | None:
    """Date header as an aware datetime; "-0000"/missing zones are taken as UTC."""
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(FOLD.sub(" ", raw).strip())
    except Exception:  # ValueError, TypeError, IndexError, OverflowError...
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
