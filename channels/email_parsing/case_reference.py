"""Case references (``TS-YYYY-NNNNNN``) quoted in a subject."""

from __future__ import annotations

import re

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
