"""Text search over cases, and lookup by reference.

On PostgreSQL every search is an index lookup (trigram indexes and the CJK bigram full-text
index of migration ``0008_desk_cjk_search``); the case list keeps at most ``SEARCH_CAP``
matches (``cases.filters``).
"""

from __future__ import annotations

import re

from django.db import connection, models
from django.db.models import BooleanField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from cases.models import Case, Customer, User

REFERENCE_RE = re.compile(r"^TS-\d{4}-\d{6,}$", re.IGNORECASE)
REFERENCE_CHARS = re.compile(r"[A-Za-z0-9-]+")  # what a reference (or a part of one) holds
CUSTOMER_MATCH_CAP = 1000
# Searches keep at most this many matching cases (then sorted and paged); past it the list
# asks for a narrower search. This keeps every search an index lookup that stops early.
SEARCH_CAP = 1000
# A Chinese search first tests the newest SEARCH_SAMPLE cases one by one (``search_matches``).
SEARCH_SAMPLE = 1_000
# What testing one case on the walk costs, in bigram-index entries collected (EXPLAIN ANALYZE
# on PostgreSQL). Words of Latin letters or digits are tested by UPPER(...) LIKE, several
# times dearer per case than their trigram index per entry: those searches never walk.
WALK_COST = 2.5
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
NON_CJK_WORD = re.compile(r"[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# The stored bigram vector of subject and description (migration 0008_desk_cjk_search).
CJK_FTS_SQL = "\"cases_case\".\"desk_fts\" @@ to_tsquery('simple', %s)"


def cjk_tsquery(text: str) -> str:
    """The bigram phrase query of the CJK runs in ``text`` ('' when it has none of two or
    more characters): 未按时 -> (未按 <-> 按时); two runs are AND-ed."""
    phrases = []
    for run in CJK_RUN.findall(text):
        if len(run) >= 2:
            phrases.append(" <-> ".join(run[i:i + 2] for i in range(len(run) - 1)))
    return " & ".join(f"({p})" for p in phrases)


def _contains_or_prefix(field: str, text: str) -> Q:
    # Trigrams serve "contains" from three characters on; a shorter query is a prefix
    # (pg_trgm pads the start of a word, so a two-character prefix is indexed too).
    lookup = "icontains" if len(text) >= 3 else "istartswith"
    return Q(**{f"{field}__{lookup}": text})


def _text_q(text: str) -> Q:
    """Subject and description. On PostgreSQL: Chinese through the bigram full-text index,
    other words of three or more characters through the trigram indexes, all AND-ed."""
    parts: list[Q] = []
    if connection.vendor != "postgresql":  # every word, anywhere (fine at SQLite's scale)
        for word in text.split():
            parts.append(Q(subject__icontains=word) | Q(description__icontains=word))
        return _all(parts)
    tsquery = cjk_tsquery(text)
    if tsquery:
        parts.append(Q(RawSQL(CJK_FTS_SQL, [tsquery], output_field=BooleanField())))
    for word in NON_CJK_WORD.findall(text):
        if len(word) >= 3:
            parts.append(Q(subject__icontains=word) | Q(description__icontains=word))
    return _all(parts)


def _all(parts: list[Q]) -> Q:
    if not parts:
        return Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined &= part
    return combined


def search_q(text: str) -> Q:
    """Text search over reference, subject, description and customer name/phone/email.

    PostgreSQL: reference and customer fields by trigram index (``UPPER(col) LIKE``), subject
    and description by the CJK bigram full-text index or trigrams (see ``_text_q``); matching
    customers are read first as a capped list of ids so the case query is a BitmapOr of index
    scans, not a join. SQLite: plain ``icontains`` (fine at its scale)."""
    text = " ".join(text.split())[:200]
    if not text:
        return Q()
    if REFERENCE_RE.match(text):
        return Q(reference=text.upper())
    customer_ids = list(
        Customer.objects.filter(
            _contains_or_prefix("name", text) | _contains_or_prefix("phone", text)
            | _contains_or_prefix("email", text)
        ).order_by().values_list("pk", flat=True)[:CUSTOMER_MATCH_CAP]
    )
    q = _text_q(text)
    if REFERENCE_CHARS.fullmatch(text):
        q |= _contains_or_prefix("reference", text)
    if customer_ids:
        q |= Q(customer_id__in=customer_ids)
    return q


def search_matches(cases: QuerySet[Case], text: str, fields: tuple[str, ...], *,
                   cap: int = SEARCH_CAP) -> list[tuple]:
    """Up to ``cap`` + 1 of ``cases`` matching ``text`` (``search_q``), as tuples of
    ``fields``, in no particular order.

    A text index collects every match before the first is returned, so a common Chinese
    phrase (a tenth of a million cases) costs more than reading the newest cases until
    ``cap`` + 1 of them match. The newest SEARCH_SAMPLE cases are tested first: when the
    share of matches there says that walking on costs less than the index would, the walk
    goes on far enough to find the rest (the search is then capped at the newest matches);
    otherwise, or when the walk comes up short, every match is read through the indexes."""
    match = search_q(text)
    indexed = cases.filter(match).order_by().values_list(*fields)[: cap + 1]
    if not _walkable(text):
        return list(indexed)
    newest = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    found = _walk(cases, match, fields, newest - SEARCH_SAMPLE, newest, cap + 1)
    share = len(found) / SEARCH_SAMPLE
    if 0 < len(found) <= cap and cap / share * WALK_COST < share * newest:
        wanted = cap + 1 - len(found)
        span = int(wanted / share * 1.25) + 1
        found += _walk(cases, match, fields, newest - SEARCH_SAMPLE - span,
                       newest - SEARCH_SAMPLE, wanted)
    return found if len(found) > cap else list(indexed)


def _walkable(text: str) -> bool:
    """Chinese text only: a bigram phrase and no word matched by LIKE (see WALK_COST)."""
    return bool(cjk_tsquery(text)) and not any(len(w) >= 3 for w in NON_CJK_WORD.findall(text))


def _walk(cases: QuerySet[Case], match: Q, fields: tuple[str, ...], low: int, high: int,
          limit: int) -> list[tuple]:
    """Up to ``limit`` matches with ids in (low, high], newest first: a walk of the primary
    key's index testing each case, the test wrapped in a CASE so that PostgreSQL cannot
    answer it from the text indexes (which would collect every match first)."""
    hidden = models.Case(When(match, then=Value(True)), default=Value(False),
                         output_field=BooleanField())
    return list(
        cases.filter(pk__gt=low, pk__lte=high).alias(hit=hidden).filter(hit=True)
        .order_by("-pk").values_list(*fields)[:limit]
    )


def case_by_reference(user: User, reference: str) -> Case | None:
    return Case.objects.for_user(user).filter(reference=reference.strip().upper()).first()
