"""Bytes to storable text: charset labels as mailers write them, and decoding that never raises.

Chinese mailers label GBK text ``gb2312`` (mangling GBK-only characters such as "镕" under a
strict GB2312 decoder), invent charset names and send raw 8-bit headers, so every GB-family
label decodes as GB18030 and a wrong label falls back to UTF-8, then GB18030. ``clean`` makes
any string storable in PostgreSQL: no NUL or control characters, no lone surrogates.
"""

from __future__ import annotations

import codecs
import re

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


def codec_for(label: str | None) -> str | None:
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
    codec = codec_for(charset)
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


SURROGATES = re.compile("[\ud800-\udfff]")
_BAD_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str, *, keep_newlines: bool = True) -> str:
    """Make text storable: no NUL/control characters and no lone surrogates."""
    text = SURROGATES.sub("\ufffd", text)
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _BAD_CONTROLS.sub("", text)
    text = re.sub(r"[\r\n\t]+", " ", text)
    return _BAD_CONTROLS.sub("", text)


def recover_bytes(value: str) -> bytes:
    """Undo compat32's surrogate-escaping so raw 8-bit header bytes can be decoded properly."""
    try:
        return value.encode("ascii", errors="surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="surrogateescape")
