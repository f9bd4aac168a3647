"""Bringing the day sums up to date: the queued cases (written by the triggers) and the
cases whose clocks fell due are recomputed, one locked transaction per batch; a change of
time zone or of ``SUMMARY_VERSION`` starts over from every case."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reporting.models import CaseKpiFact, KpiDaySum, KpiQueue, KpiSummaryState, RootCauseDaySum
from reporting.summaries import ledger
from reporting.summaries.ledger import apply

# Raise when a KPI definition changes: the sums are then rebuilt from the cases.
SUMMARY_VERSION = 2  # 2: the paused-time and statutory KPIs (issue 14)
BATCH = 2000
# The dashboard refreshes at most this many cases itself before it falls back to live.
INLINE_MAX = getattr(settings, "KPI_SUMMARY_INLINE_MAX", 5000)
# A clock set back by more than this (tests travelling in time) cannot use the sums.
CLOCK_SKEW = timedelta(seconds=5)


@dataclass
class RefreshResult:
    """What a refresh did: cases computed and changed, batches committed, whether it started
    over (``rebuilt``) and whether nothing is left to do (``current``)."""

    cases: int = 0
    changed: int = 0
    batches: int = 0
    rebuilt: bool = False
    current: bool = False


def _locked_state() -> KpiSummaryState:
    """The state row, locked FOR UPDATE (created on the first run). Precondition: atomic."""
    state = KpiSummaryState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        KpiSummaryState.objects.get_or_create(pk=1)
        state = KpiSummaryState.objects.select_for_update().get(pk=1)
    return state


def _is_built_for_now(state: KpiSummaryState) -> bool:
    return state.time_zone == settings.TIME_ZONE and state.version == SUMMARY_VERSION


def _reset(state: KpiSummaryState) -> None:
    """Start over (first run, time zone or definitions changed): empty sums, every case
    queued."""
    models = (KpiDaySum, RootCauseDaySum, CaseKpiFact, KpiQueue)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE leaves no million dead rows behind; writers' triggers wait for the
            # commit (seconds) and then queue into the new queue.
            cursor.execute("TRUNCATE " + ", ".join(m._meta.db_table for m in models))
        else:
            for model in models:
                model.objects.all().delete()
        # INSERT ... SELECT: the ORM would read every case id into Python to queue it.
        cursor.execute("INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM cases_case")
    state.time_zone, state.version, state.as_of = settings.TIME_ZONE, SUMMARY_VERSION, None
    state.save()


def _batch(now: datetime, size: int) -> tuple[int, int]:
    """One batch: the oldest queued cases, topped up with flipped ones. Returns (cases
    computed, cases whose counts changed)."""
    queued = list(KpiQueue.objects.order_by("id").values_list("id", "case_id")[:size])
    ids = {case_id for _, case_id in queued}
    if len(ids) < size:
        ids.update(CaseKpiFact.objects.filter(next_flip_at__lte=now).order_by()
                   .values_list("case_id", flat=True)[:size - len(ids)])
    if not ids:
        return 0, 0
    changed = apply(ids, now)
    if queued:
        KpiQueue.objects.filter(id__in=[pk for pk, _ in queued]).delete()
    return len(ids), changed


def pending(now: datetime, limit: int) -> int:
    """Queued plus flipped cases, counted up to ``limit`` (cheap however long the queue)."""
    queued = KpiQueue.objects.order_by()[:limit].count()
    flipped = CaseKpiFact.objects.filter(next_flip_at__lte=now).order_by()[:limit].count()
    return queued + flipped


def refresh(*, now: datetime | None = None, max_cases: int | None = None,
            max_seconds: float | None = None, batch: int = BATCH) -> RefreshResult:
    """Bring the sums up to date at ``now``, one transaction per batch of cases (the state
    row's lock keeps two refreshes from applying the same difference twice). Stops after
    ``max_cases`` cases or ``max_seconds`` when given (what is done stays done; the next
    refresh goes on); ``current`` tells whether nothing is left."""
    now = now or timezone.now()
    started = time.monotonic()
    result = RefreshResult()
    while True:
        with transaction.atomic():
            state = _locked_state()
            if not _is_built_for_now(state):
                _reset(state)
                result.rebuilt = True
            done, changed = _batch(now, batch)
            if not done:
                result.current = True
                return result
            # The latest moment facts were computed for: a reader at an earlier moment
            # cannot use them (a running clock may already count as late).
            if state.as_of is None or state.as_of < now:
                state.as_of = now
                state.save(update_fields=["as_of"])
            result.cases += done
            result.changed += changed
            result.batches += 1
        if max_cases is not None and result.cases >= max_cases:
            return result
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return result


def rebuild(*, now: datetime | None = None, batch: int = 10_000) -> RefreshResult:
    """Recompute every case from scratch (after a restore, or to be sure)."""
    with transaction.atomic():
        _reset(_locked_state())
    result = refresh(now=now, batch=batch)
    result.rebuilt = True
    _analyze()
    return result


def add_copies(copies: dict[int, int]) -> None:
    """Add ``copies[case_id]`` more times each case's current fact to the sums, under the
    state row's lock: a bulk loader wrote that many copies of each case and copies the
    facts itself (``cases.demo.copies``). Precondition: the sums are current for the cases."""
    with transaction.atomic():
        _locked_state()
        ledger.add_copies(copies)


def _analyze() -> None:
    """Fresh planner statistics after a bulk change (PostgreSQL; VACUUM only outside a
    transaction): with stale ones the planner scans every fact to find the flipped ones."""
    if connection.vendor != "postgresql":
        return
    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for model in (KpiDaySum, RootCauseDaySum, CaseKpiFact, KpiQueue):
            cursor.execute(f"{verb} {model._meta.db_table}")


def catch_up(now: datetime) -> bool:
    """Before a read: refresh what changed since the last refresh if it is little, and tell
    whether the sums are exact at ``now``. False (compute live) while a large backlog waits
    for the beat task, or when ``now`` lies before the time the sums were brought to.
    Nothing changed: three small reads and no write."""
    from cases.models import Case

    state = KpiSummaryState.objects.filter(pk=1).first()
    if state is None or not _is_built_for_now(state):
        # Building from scratch in a request only for a small desk; else beat builds it.
        if Case.objects.order_by()[:INLINE_MAX + 1].count() > INLINE_MAX:
            return False
    elif state.as_of is not None and now < state.as_of - CLOCK_SKEW:
        return False
    else:
        waiting = pending(now, INLINE_MAX + 1)
        if waiting == 0:
            return True
        if waiting > INLINE_MAX:
            return False
    return refresh(now=now, max_cases=INLINE_MAX).current
