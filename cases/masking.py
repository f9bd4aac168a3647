"""Masking of customer contact data for people who may know *that* a customer can be reached
but not *how* (department liaisons). Masking happens on the server: the raw value never
reaches a liaison's page."""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "****"


def mask_phone(phone: str | None) -> str:
    """``13812341234`` -> ``138****1234``; ``+86 138-1234-1234`` -> ``+86 138****1234``.

    Keeps the first three and last four digits of the national number (the usual Chinese
    style); short numbers keep only their last two digits. Separators are dropped.
    """
    raw = (phone or "").strip()
    if not raw:
        return ""
    prefix = ""
    if raw.startswith("+"):
        # Keep a country code visible: it says nothing about the person.
        head, _sep, rest = raw[1:].partition(" ")
        if rest and head.isdigit() and len(head) <= 3:
            prefix, raw = f"+{head} ", rest
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not prefix and raw.startswith("+86") and len(digits) == 13:
        prefix, digits = "+86 ", digits[2:]
    if len(digits) >= 8:
        return f"{prefix}{digits[:3]}{MASK}{digits[-4:]}"
    if len(digits) >= 3:
        return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"
    return MASK


def mask_email(email: str | None) -> str:
    """``wang.fang@example.com`` -> ``w***@example.com``. The domain stays (it helps tell a
    work address from a private one); the local part keeps only its first character."""
    raw = (email or "").strip()
    if not raw:
        return ""
    local, sep, domain = raw.rpartition("@")
    if not sep or not local or not domain:
        return MASK
    return f"{local[0]}***@{domain}"


def contact_for(user: object, *, phone: str, email: str) -> tuple[str, str]:
    """Phone and email as ``user`` may see them: in full for agents, masked for everyone else."""
    from cases.permissions import can_see_contact_data

    if can_see_contact_data(user):  # type: ignore[arg-type]
        return phone, email
    return mask_phone(phone), mask_email(email)


# --- personal data typed into free text ----------------------------------------------------------
# Each pattern is tried where no ASCII letter or digit (nor "letters-", as in SO-88812) comes
# just before, and no digit just after, so order numbers, dates and amounts stay readable.
_BEFORE = r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]-)"
_AFTER = r"(?![0-9])"
_PERSONAL_DATA = re.compile(
    r"(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
    # resident ID: 18 characters, the last a digit or X (also written 6-8-4)
    rf"|{_BEFORE}(?P<id>[0-9]{{17}}[0-9Xx]"
    rf"|[0-9]{{6}}(?P<idsep>[ -])[0-9]{{8}}(?P=idsep)[0-9]{{3}}[0-9Xx])(?![0-9A-Za-z])"
    # +86 / 0086 then a mobile or an area code and number
    rf"|(?P<intl>(?:\(\+86\)|\+86|(?<![0-9])0086)[ -]?(?:1[3-9][0-9][ -]?[0-9]{{4}}[ -]?[0-9]{{4}}"
    rf"|\(?[1-9][0-9]{{1,2}}\)?[ -]?[0-9]{{3,4}}[ -]?[0-9]{{4}})){_AFTER}"
    # mobile: 1[3-9]x 11 digits, also 3-4-4 with spaces or dashes
    rf"|{_BEFORE}(?P<mobile>1[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}){_AFTER}"
    # landline with its area code: 010-88886666, (021) 6888 1234, 0571 8888 6666
    rf"|{_BEFORE}(?P<landline>\(?0[1-9][0-9]{{1,2}}\)?[ -]?[0-9]{{3,4}}[ -]?[0-9]{{4}}){_AFTER}"
    # bank card: 13-19 digits, unbroken or in groups of four
    rf"|{_BEFORE}(?P<card>[0-9]{{13,19}}|[0-9]{{4}}(?P<sep>[ -])[0-9]{{4}}(?P=sep)[0-9]{{4}}"
    rf"(?P=sep)[0-9]{{1,4}}(?:(?P=sep)[0-9]{{1,3}})?){_AFTER}"
)
_KINDS = ("email", "id", "intl", "mobile", "landline", "card")
# Full-width forms (common in Chinese input) are matched as their ASCII twins: same length,
# so positions found in the folded text are positions in the original.
_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                       "＋": "+", "－": "-", "（": "(", "）": ")", "＠": "@", "．": ".",
                       "\u3000": " ", "Ｘ": "X", "ｘ": "x"})


def _mask_match(kind: str, value: str) -> str:
    if kind == "email":
        return mask_email(value)
    if kind == "id":
        return value[:3] + "*" * (len(value) - 3)
    if kind == "card":
        digits = re.sub(r"[^0-9]", "", value)
        return f"{MASK} {digits[-4:]}"
    if kind == "intl":
        digits = re.sub(r"[^0-9]", "", value)
        digits = digits[4:] if digits.startswith("0086") else digits[2:]
        return f"+86 {digits[:3]}{MASK}{digits[-4:]}"
    return mask_phone(value)


def personal_data_spans(text: str | None) -> list[tuple[int, int, str]]:
    """Where personal data is typed into ``text``: (start, end, kind) per finding, in order;
    kind is one of email, id, intl, mobile, landline, card. The one detector behind masking
    (``mask_text``) and anonymisation (``cases.services.retention``)."""
    folded = (text or "").translate(_FOLD)
    return [
        (match.start(), match.end(), next(k for k in _KINDS if match.group(k) is not None))
        for match in _PERSONAL_DATA.finditer(folded)
    ]


def replace_personal_data(text: str | None, replace: Callable[[str, str], str]) -> str:
    """``text`` with each piece of personal data found in it replaced by
    ``replace(kind, value)``."""
    raw = text or ""
    out, last = [], 0
    for start, end, kind in personal_data_spans(raw):
        out.append(raw[last:start])
        out.append(replace(kind, raw[start:end].translate(_FOLD)))
        last = end
    out.append(raw[last:])
    return "".join(out)


def mask_text(text: str | None) -> str:
    """Free text with the personal data typed into it masked: phone numbers (mobiles, landlines
    with an area code, +86 forms, spaced or dashed), e-mail addresses, resident ID numbers and
    bank-card numbers (13 to 19 digits, so an all-digit order number that long is masked
    too). Order numbers such as SO-88812, dates and amounts are left alone."""
    return replace_personal_data(text, _mask_match)


def text_for(user: object, text: str | None) -> str:
    """Free case text as ``user`` may see it: in full for agents, masked for everyone else."""
    from cases.permissions import can_see_contact_data

    if can_see_contact_data(user):  # type: ignore[arg-type]
        return text or ""
    return mask_text(text)
