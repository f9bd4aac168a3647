"""One case's fact: what the case and its collaboration requests add to the day sums,
computed by the KPI definitions themselves over an all-time window, grouped by case (and by
request), each KPI's counts under the local day of its own anchor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import DateTimeField, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least, TruncDate

from reporting import kpis as K
from reporting.periods import report_tz
from reporting.summaries.columns import COLUMN, DIMS, REQUEST_DIMS, micro

# (stop, due) of each clock whose outcome a KPI reads.
CLOCKS = (
    ("first_responded_at", "response_due_at"),
    ("resolved_at", "solution_due_at"),
    ("feedback_given_at", "feedback_due_at"),
    ("revisit_done_at", "revisit_due_at"),
    ("review_done_at", "review_due_at"),
    ("statutory_stopped_at", "statutory_due_at"),
)
REQUEST_CLOCKS = (("answered_at", "due_at"),)
# "No clock left to fall due" in the flip expression (LEAST ignores no NULL on SQLite).
NEVER = datetime(9999, 1, 1, tzinfo=UTC)

Fact = tuple[dict[str, Any], datetime | None]


def _filed(row: dict[str, Any]) -> Iterable[tuple[date | None, str, int]]:
    """(day, column, value) of one case's counts: each KPI under its own anchor's day."""
    for day, name, value in K.case_filings(row):
        yield day, COLUMN[name], micro(value)


def _next_flip(clocks: Iterable[tuple[str, str]], now: datetime) -> Least:
    """The earliest due time after ``now`` of a clock that has not stopped, else NEVER."""
    return Least(*[
        Coalesce(DbCase(When(Q(**{f"{stop}__isnull": True, f"{due}__gt": now}), then=F(due)),
                        output_field=DateTimeField()), Value(NEVER))
        for stop, due in clocks
    ], Value(NEVER))


def case_fact_query(case_ids: list[int], now: datetime) -> QuerySet:
    """The aggregate query of the cases' facts: one row per case, its dimensions, root cause,
    anchor days, next flip and every case KPI's sums. Also what ``watched`` reads the
    columns of, so it is the one place these facts are queried."""
    days = {f"d_{a}": TruncDate(a, tzinfo=report_tz()) for a in K.CASE_ANCHORS}
    return (
        K.case_base().filter(pk__in=case_ids).annotate(**days, flip=_next_flip(CLOCKS, now))
        .values("pk", *DIMS.values(), "root_cause_id", *days, "flip")
        .annotate(**K.case_aggregates(K.all_time(now)))
        .order_by()
    )


def request_fact_query(case_ids: list[int], now: datetime) -> QuerySet:
    """The aggregate query of the cases' collaboration requests: one row per request, its
    creation day, its own department and its case's tier, channel and category, its next
    flip (an unanswered request falling due) and every request KPI's sums."""
    return (
        K.request_base().filter(case_id__in=case_ids)
        .annotate(d_created_at=TruncDate("created_at", tzinfo=report_tz()),
                  flip=_next_flip(REQUEST_CLOCKS, now))
        .values("pk", "case_id", *REQUEST_DIMS.values(), "d_created_at", "flip")
        .annotate(**K.request_aggregates(K.all_time(now)))
        .order_by()
    )


def _request_facts(case_ids: list[int], now: datetime) -> dict[int, list[dict[str, Any]]]:
    """What each case's requests add, per case: keys, creation day, counts, next flip."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in request_fact_query(case_ids, now):
        counts = {COLUMN[name]: value for name, value in K.request_sums(row)}
        flip = row["flip"] if row["flip"] < NEVER else None
        out[row["case_id"]].append({
            "k": {dim: "" if row[field] is None else str(row[field])
                  for dim, field in REQUEST_DIMS.items()},
            "day": row["d_created_at"].isoformat(),
            "c": {c: v for c, v in counts.items() if v},
            "flip": flip.isoformat() if flip else None,
        })
    return out


def measure(case_ids: Iterable[int], now: datetime) -> dict[int, Fact]:
    """The fact of each given case at ``now`` and its next flip time (invalid and missing
    cases have none): two aggregate queries, no writes."""
    ids = list(case_ids)
    requests = _request_facts(ids, now)
    out: dict[int, Fact] = {}
    for row in case_fact_query(ids, now):
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for day, column, value in _filed(row):
            if day is not None and value:
                counts[day.isoformat()][column] = value
        keys = {dim: "" if row[field] is None else str(row[field])
                for dim, field in DIMS.items()}
        cause = None
        if row["root_cause_id"] is not None and row["d_resolved_at"] is not None:
            cause = [row["d_resolved_at"].isoformat(), row["root_cause_id"], row["category"]]
        own = requests.pop(row["pk"], [])
        pending = [datetime.fromisoformat(r["flip"]) for r in own if r["flip"]]
        if row["flip"] < NEVER:
            pending.append(row["flip"])
        for r in own:
            del r["flip"]
        out[row["pk"]] = ({"k": keys, "d": dict(counts), "rc": cause, "r": own},
                          min(pending) if pending else None)
    return out
