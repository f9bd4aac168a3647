"""Address headers (From, Sender, To) as (display name, address) pairs."""

from __future__ import annotations

import re
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses

from .charsets import SURROGATES, clean, decode_bytes, recover_bytes
from .headers import FOLD, decode_header_text

_ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+\-=!#$&'*/?^`{|}~]+@[A-Za-z0-9.\-\[\]:]+")


def address_pairs(raw: str | None) -> list[tuple[str, str]]:
    """Parse an address header into (decoded display name, lower-cased address) pairs.

    Addresses are split *before* decoding encoded-words, so a decoded display name that
    contains a comma cannot break the list apart.  Raw 8-bit headers are decoded first.
    """
    if not raw:
        return []
    value = FOLD.sub(" ", raw)
    if SURROGATES.search(value):
        value = decode_bytes(recover_bytes(value))
    pairs: list[tuple[str, str]] = []
    try:
        parsed = getaddresses([value])
    except Exception:
        parsed = []
    for name, addr in parsed:
        addr = clean(addr, keep_newlines=False).strip().strip("<>").lower()
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
            addr = clean(address.addr_spec, keep_newlines=False).strip().lower()
            if "@" in addr and " " not in addr:
                pairs.append((clean(address.display_name, keep_newlines=False), addr))
        return pairs
    except Exception:  # exactly the fragility we are guarding against
        return []
