"""Masking of customer contact data for people who may know *that* a customer can be reached
but not *how* (department liaisons). Masking happens on the server: the raw value never
reaches a liaison's page."""

from __future__ import annotations

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
