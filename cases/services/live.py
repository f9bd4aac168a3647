"""Live desk: change counters the desk's pages poll, and who has a case open.

Counters live in the cache (Redis in production, shared by every process; local memory in
the embedded default, where the web process's own writes are seen). Every write of a case, a
collaboration request, a case note or a transition bumps them once per transaction, after
commit (``connect_signals``); writes that bypass ``save()`` call ``live_changed`` themselves.
A page embeds a signed watch token naming the counters the user's view depends on; the
check answers the counters' current values from the cache alone (no database query beyond
the session and user that authentication reads)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from complaints_project.cache_outage import CACHE_DOWN_ERRORS, bump_counter, warn_cache_down

logger = logging.getLogger(__name__)

CASES = "live:cases"  # any case changed (desk home, queues, lists, workspace)
BOARD = "live:board"  # any collaboration request changed (the board as agents see it)
TOKEN_SALT = "cases.live.watch"
TOKEN_MAX_AGE = 24 * 3600
PRESENCE_TTL = 50  # seconds: two missed heartbeats (every 20 s) and the viewer is gone


def poll_seconds() -> int:
    """How often pages ask (settings ``LIVE_POLL_SECONDS``, default 10)."""
    return int(getattr(settings, "LIVE_POLL_SECONDS", 10))


def board_key(department_id: int) -> str:
    """The counter of one department's requests (its liaison's board)."""
    return f"live:board:{department_id}"


# --- counters ---------------------------------------------------------------------------------
def _bump(keys: Iterable[str]) -> None:
    for key in keys:
        try:
            bump_counter(key)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "live counter not bumped (%s)", exc)
            return


# Keys waiting for the current transaction's commit, per thread and database alias (a
# connection belongs to one thread, and so do its on-commit callbacks).
_pending = threading.local()


def _pending_keys(using: str) -> dict[str, set[str]]:
    if not hasattr(_pending, "keys"):
        _pending.keys = {}
    return _pending.keys


def live_changed(*keys: str, using: str = "default") -> None:
    """Bump ``keys`` once the current transaction commits (at once outside one). Many calls
    in one transaction register one callback, which bumps each key once."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        _bump(keys)
        return
    pending = _pending_keys(using)
    if using in pending and any(is_live_flush(func) for _sids, func, _robust
                                in connection.run_on_commit):
        pending[using].update(keys)
        return
    # First call of this transaction (or the earlier one's callback was rolled back).
    pending[using] = set(keys)
    transaction.on_commit(partial(flush_pending, using), using=using)


def flush_pending(using: str = "default") -> None:
    """Bump the keys ``live_changed`` collected in the transaction that just committed."""
    keys = _pending_keys(using).pop(using, None)
    if keys:
        _bump(sorted(keys))


def is_live_flush(callback: Any) -> bool:
    """Is ``callback`` (an on-commit callback) the live counters' flush?"""
    return getattr(callback, "func", None) is flush_pending


def live_stamp(keys: Iterable[str]) -> str:
    """The counters' current values as one string (changes when any of them changes). No
    database query; a cache that cannot be reached answers an empty stamp."""
    keys = list(keys)
    try:
        values = cache.get_many(keys)
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "live counters unavailable (%s)", exc)
        return ""
    return ".".join(str(values.get(key, 0)) for key in keys)


# Writes made by another process (the embedded default's Celery worker: e-mail intake,
# imports) do not reach this process's local-memory cache; there, the check also reads the
# newest case and transition ids, at most once per PROBE_SECONDS per process.
PROBE_SECONDS = 15.0
_probe: tuple[float, str] | None = None


def cache_is_process_local() -> bool:
    return isinstance(caches["default"], LocMemCache)


def other_process_stamp() -> str | None:
    """The newest case and transition ids (2 queries, re-read at most every PROBE_SECONDS),
    when the cache is this process's own; None when it is shared."""
    global _probe
    if not cache_is_process_local():
        return None
    now = time.monotonic()
    if _probe is None or now - _probe[0] >= PROBE_SECONDS:
        from cases.models import Case, CaseTransition

        newest = [model.objects.order_by("-id").values_list("id", flat=True).first() or 0
                  for model in (Case, CaseTransition)]
        _probe = (now, f"{newest[0]}.{newest[1]}")
    return _probe[1]


# --- watch tokens -----------------------------------------------------------------------------
def live_keys_for(user: Any, area: str) -> list[str]:
    """The counters ``user``'s page of ``area`` ("desk" or "board") depends on: agents watch
    every case (they see every case) or every request; a liaison's board watches their
    department's requests only."""
    from cases import permissions as perms

    if area == "board" and not perms.is_agent(user):
        department = getattr(user, "liaison_for", None)
        return [board_key(department.pk)] if department is not None else []
    return [BOARD] if area == "board" else [CASES]


def live_token(user: Any, keys: list[str]) -> str:
    return signing.dumps({"u": user.pk, "k": keys}, salt=TOKEN_SALT, compress=True)


def live_token_keys(token: str, user: Any) -> list[str] | None:
    """The counters a token names, or None when it is not valid for ``user`` (forged,
    expired, or another user's)."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk:
        return None
    keys = data.get("k")
    return [str(k) for k in keys] if isinstance(keys, list) else None


# --- presence ---------------------------------------------------------------------------------
def _presence_key(case_id: int) -> str:
    return f"live:presence:{case_id}"


def presence_beat(*, case_id: int, user: Any, leaving: bool = False) -> list[str]:
    """Record that ``user`` has case ``case_id`` open (or left it), and return the names of
    the others who have it open now. Cache only; a lost heartbeat is repaired by the next."""
    now = time.time()
    key = _presence_key(case_id)
    try:
        viewers: dict[int, tuple[str, float]] = cache.get(key) or {}
        viewers = {pk: v for pk, v in viewers.items() if v[1] > now and pk != user.pk}
        others = sorted(name for name, _until in viewers.values())
        if not leaving:
            viewers[user.pk] = (str(user), now + PRESENCE_TTL)
        cache.set(key, viewers, PRESENCE_TTL)
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "presence unavailable (%s)", exc)
        return []
    return others


# --- signals ----------------------------------------------------------------------------------
def _case_written(sender: Any, instance: Any, **kwargs: Any) -> None:
    live_changed(CASES, using=kwargs.get("using") or "default")


def _request_written(sender: Any, instance: Any, **kwargs: Any) -> None:
    live_changed(CASES, BOARD, board_key(instance.department_id),
                 using=kwargs.get("using") or "default")


def connect_signals() -> None:
    """Bump the counters on every saved or deleted case, request, note or transition
    (called from ``CasesConfig.ready``)."""
    from cases.models import Case, CaseNote, CaseTransition, CollaborationRequest

    for model in (Case, CaseNote, CaseTransition):
        post_save.connect(_case_written, sender=model, dispatch_uid=f"live-{model.__name__}")
        post_delete.connect(_case_written, sender=model, dispatch_uid=f"live-d-{model.__name__}")
    post_save.connect(_request_written, sender=CollaborationRequest, dispatch_uid="live-req")
    post_delete.connect(_request_written, sender=CollaborationRequest,
                        dispatch_uid="live-d-req")
