"""Keyset ("seek") paging of the desk's case list: a page is read after (or before) the sort
key and id of a row of the page next to it, so a deep page is one range of the sort index,
like the first page, instead of an OFFSET walk past every earlier row. A cursor comes back
in a URL: it is signed, and read back only for the sort it was made for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from cases.models import Case

from .lists import SORT_KEYS, PagedCases, SortKey, key_fields

_SALT = "cases.desk-list-cursor"


class InvalidCursor(ValueError):
    """A cursor that was tampered with, made for another sort, or does not parse."""


@dataclass
class KeysetPage:
    """A page read by cursor: its rows, its number (carried by the cursor) and whether rows
    come before and after it. Duck-types the paginator's ``Page`` for the templates."""

    object_list: list
    number: int
    paginator: Any
    more_before: bool
    more_after: bool

    def has_previous(self) -> bool:
        return self.more_before

    def has_next(self) -> bool:
        return self.more_after

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def cursor_token(sort: str, page: int, values: tuple) -> str:
    """The signed cursor of page ``page``, next to the row whose (sort key..., id) are
    ``values`` (the last row of the page before it, or the first row of the page after)."""
    encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return signing.dumps([sort, page, encoded], salt=_SALT, compress=False)


def read_cursor(token: str, sort: str) -> tuple[int, tuple]:
    """The page number and the row's sort key values of a cursor made for ``sort``.
    Raises ``InvalidCursor`` on anything else."""
    try:
        made_for, page, encoded = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise InvalidCursor(str(exc)) from None
    keys = SORT_KEYS[sort]
    if made_for != sort or not isinstance(page, int) or page < 2 or len(encoded) != len(keys):
        raise InvalidCursor("not a cursor of this sort")
    return page, tuple(_decode(key, value) for key, value in zip(keys, encoded, strict=True))


def _decode(key: SortKey, value: Any) -> Any:
    if value is None and key.nullable:
        return None
    field = Case._meta.get_field(key.field)
    try:
        decoded = field.to_python(value)
    except (ValidationError, TypeError, ValueError) as exc:
        raise InvalidCursor(str(exc)) from None
    if decoded is None or (isinstance(decoded, datetime) and decoded.tzinfo is None):
        raise InvalidCursor("a key value is missing")
    return decoded


def page_by_cursor(paged: PagedCases, *, token: str, backward: bool, per_page: int,
                   paginator: Any) -> KeysetPage:
    """Page ``number`` of the cursor: the ``per_page`` rows after (``backward``: before) the
    cursor's row. Raises
    ``InvalidCursor`` when the cursor does not fit, or when nothing is there any more (the
    rows it pointed at left the list)."""
    number, values = read_cursor(token, paged.sort)
    keyed = seek(paged.sorted_qs, paged.keys, values, backward=backward, limit=per_page + 1)
    more = len(keyed) > per_page
    keyed = keyed[-per_page:] if backward else keyed[:per_page]
    if not keyed:
        raise InvalidCursor("no rows there")
    if backward and not more:  # the list's first rows: whatever the cursor said, page 1
        number = 1
    return KeysetPage(paged.rows(keyed), number, paginator,
                      more_before=more if backward else True,
                      more_after=True if backward else more)


def seek(sorted_qs: QuerySet[Case], keys: tuple[SortKey, ...], values: tuple, *,
         backward: bool, limit: int) -> list[tuple]:
    """Up to ``limit`` (sort key..., id) tuples of ``sorted_qs`` just after (``backward``:
    just before) the row whose keys are ``values``, in list order. One ordered, limited query
    per segment of ``_segments``; usually the first fills the page."""
    walk = sorted_qs.reverse() if backward else sorted_qs
    found: list[tuple] = []
    for segment in _segments(keys, values, backward):
        found += walk.filter(segment).values_list(*key_fields(keys))[: limit - len(found)]
        if len(found) >= limit:
            break
    return found[::-1] if backward else found


def _segments(keys: tuple[SortKey, ...], values: tuple, backward: bool) -> list[Q]:
    """The rows after ``values`` in walking order, as conditions each of which is one range of
    the sort index: the longest tail of keys one row comparison covers first, then for each
    earlier key "equal before it, past it here" (and its NULLs, which sort last)."""
    start = len(keys) - 1
    while (start > 0 and values[start - 1] is not None and not keys[start].nullable
           and keys[start - 1].descending == keys[start].descending):
        start -= 1
    segments = [_prefix(keys, values, start)
                & _row_compare(keys[start:], values[start:], _past(keys[start], backward))]
    if keys[start].nullable and not backward:
        segments.append(_prefix(keys, values, start) & Q(**{f"{keys[start].field}__isnull": True}))
    for k in range(start - 1, -1, -1):
        key, value = keys[k], values[k]
        if value is None:  # NULLs sort last: only a backward walk goes on, to the non-NULLs
            if backward:
                segments.append(_prefix(keys, values, k) & Q(**{f"{key.field}__isnull": False}))
            continue
        lookup = "lt" if _past(key, backward) == "<" else "gt"
        segments.append(_prefix(keys, values, k) & Q(**{f"{key.field}__{lookup}": value}))
        if key.nullable and not backward:
            segments.append(_prefix(keys, values, k) & Q(**{f"{key.field}__isnull": True}))
    return segments


def _past(key: SortKey, backward: bool) -> str:
    return "<" if key.descending != backward else ">"


def _prefix(keys: tuple[SortKey, ...], values: tuple, upto: int) -> Q:
    q = Q()
    for key, value in zip(keys[:upto], values[:upto], strict=True):
        q &= Q(**{f"{key.field}__isnull": True} if value is None else {key.field: value})
    return q


def _row_compare(keys: tuple[SortKey, ...], values: tuple, op: str) -> Q:
    # Raw SQL because the ORM spells a row comparison only as an OR of per-column conditions,
    # which PostgreSQL cannot read as one range of the sort index.
    quote = connection.ops.quote_name
    table = quote(Case._meta.db_table)
    fields = [Case._meta.get_field(key.field) for key in keys]
    columns = ", ".join(f"{table}.{quote(field.column)}" for field in fields)
    marks = ", ".join("%s" for _ in fields)
    params = [f.get_db_prep_value(v, connection) for f, v in zip(fields, values, strict=True)]
    return Q(RawSQL(f"({columns}) {op} ({marks})", params, output_field=BooleanField()))
