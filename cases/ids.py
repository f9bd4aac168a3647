"""Ids that arrive as text (a query parameter, a form value, a signed link) read strictly
before they reach a query."""

from __future__ import annotations

# The largest value of a 64-bit (bigint) primary key. SQLite raises OverflowError on a
# parameter past it (a 500); PostgreSQL refuses it too.
MAX_ID = 2**63 - 1


def parse_id(raw: str | None, *, minimum: int = 1) -> int | None:
    """``raw`` as an id (ASCII digits only, ``minimum`` <= n <= MAX_ID), else None.

    ``str.isdigit`` alone is not enough: it accepts "²" (``int`` refuses it) and any length
    (``int`` refuses more than 4300 digits; past 19 the value is out of range anyway).
    ``minimum=0`` reads a version counter, which starts at 0."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0") or "0"  # int() counts leading zeros against its digit limit
    if len(digits) > 19:
        return None
    value = int(digits)
    return value if minimum <= value <= MAX_ID else None
