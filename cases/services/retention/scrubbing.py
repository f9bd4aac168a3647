"""Removing personal data from stored values: the customer's own name, phone, e-mail and
WeChat id wherever they were copied, and any personal data typed into free text (phone
numbers, e-mail addresses, resident ID and bank-card numbers: the detector of
``cases.masking``). What is removed becomes ``REDACTED``; nothing of it is kept."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from cases.masking import replace_personal_data

REDACTED = "***"
# A shorter "name" (one character) would remove that character from every text.
_MIN_LITERAL = 2


def _redact(kind: str, value: str) -> str:
    return REDACTED


def contact_literals(*, name: str, phone: str, email: str, wechat_openid: str) -> set[str]:
    """The strings that identify one customer: as stored, and the phone's digits alone and
    without a +86 / 0086 prefix (how people retype them)."""
    out = {name, phone, email, wechat_openid}
    digits = "".join(ch for ch in phone if ch.isdigit())
    out.add(digits)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
            out.add(digits[len(prefix):])
    return {value.strip() for value in out if len(value.strip()) >= _MIN_LITERAL}


class Scrubber:
    """Removes the given literals (case-insensitive, longest first) and then every piece of
    personal data the free-text detector finds."""

    def __init__(self, literals: Iterable[str] = (), *, detect: bool = True,
                 case_subjects: dict[int, str] | None = None) -> None:
        """``detect`` False: only the literals (for rows that belong to nobody in particular,
        where any other phone number belongs to somebody else). ``case_subjects``: JSON
        case rows (``{"id": ..., "subject": ...}``) of these cases get the new subject."""
        ordered = sorted(set(literals), key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(re.escape(value) for value in ordered), re.IGNORECASE)
            if ordered else None
        )
        self.detect = detect
        self.case_subjects = case_subjects or {}

    def text(self, value: str | None) -> str:
        out = value or ""
        if not out:
            return out
        if self.pattern is not None:
            out = self.pattern.sub(REDACTED, out)
        return replace_personal_data(out, _redact) if self.detect else out

    def json(self, value: Any) -> Any:
        """Every string inside a JSON value (keys are codes, kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            out = {key: self.json(item) for key, item in value.items()}
            if "subject" in out and out.get("id") in self.case_subjects:
                out["subject"] = self.case_subjects[out["id"]]
            return out
        return value


def digest(value: str) -> str:
    """A stand-in for an identifier that must stay unique (a Message-ID): not reversible,
    still distinct."""
    if not value:
        return value
    return "anon-" + hashlib.sha256(value.encode()).hexdigest()
