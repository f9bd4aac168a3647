"""Rate limits for the public surfaces and the API, kept in Django's cache (Redis in
production, so every web process shares the counters; the local-memory cache of the embedded
default counts per process, which is fine for one process).

Fixed windows: a counter per (scope, who, window number) that expires with the window. Cheap
(one or two cache round trips), no new dependency, and good enough against form spam, code
guessing and a runaway integration.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# scope -> (requests, seconds). Override any of them with settings.CHANNELS_RATE_LIMITS.
DEFAULT_RATES: dict[str, tuple[int, int]] = {
    "complain": (10, 3600),  # public form submissions per IP per hour
    "track": (20, 600),  # progress lookups per IP per 10 minutes
    "track_reference": (10, 3600),  # failed lookups per reference per hour (code guessing)
    "api": (3000, 60),  # API calls per channel key per minute
    "api_auth_fail": (30, 600),  # bad API keys per IP per 10 minutes
}


def parse_rate(value: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """'3000/60' or (3000, 60) -> (3000, 60)."""
    if isinstance(value, str):
        count, _, seconds = value.partition("/")
        return int(count), int(seconds or 60)
    count, seconds = value
    return int(count), int(seconds)


def rate_for(scope: str) -> tuple[int, int]:
    overrides = getattr(settings, "CHANNELS_RATE_LIMITS", {}) or {}
    return parse_rate(overrides.get(scope, DEFAULT_RATES[scope]))


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a reverse proxy set CHANNELS_TRUSTED_PROXY_COUNT to the
    number of proxies that append to X-Forwarded-For; otherwise the header is ignored (a
    client could write anything in it and dodge every limit)."""
    proxies = int(getattr(settings, "CHANNELS_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets (0 when allowed)


def _key(scope: str, who: str, window: int) -> str:
    digest = hashlib.sha256(who.encode("utf-8", "replace")).hexdigest()[:24]
    return f"rl:{scope}:{digest}:{window}"


def hit(scope: str, who: str, *, cost: int = 1) -> Verdict:
    """Count one request of ``who`` in ``scope``; refuse it when the window is full."""
    pending = _pending(scope, who, cost)
    pending.count = _incr_existing(pending.key, cost)  # the common case: one round trip
    return pending.verdict()


@dataclass
class PendingHit:
    """A request counted, or to be counted, in a window (see ``get_many_and_hit``)."""

    key: str
    limit: int
    seconds: int
    window: int
    now: float
    cost: int
    count: int | None = None  # None: this window has no counter yet

    def verdict(self) -> Verdict:
        """The verdict; starts the window's counter if the request found none."""
        count = self.count
        if count is None:  # first request of the window
            if cache.add(self.key, self.cost, self.seconds + 1):
                count = self.cost
            else:  # another process started the window meanwhile
                count = cache.incr(self.key, self.cost)
            self.count = count
        if count > self.limit:
            return Verdict(False, max(1, int((self.window + 1) * self.seconds - self.now)))
        return Verdict(True, 0)


def _pending(scope: str, who: str, cost: int) -> PendingHit:
    limit, seconds = rate_for(scope)
    now = time.time()
    window = int(now // seconds)
    return PendingHit(_key(scope, who, window), limit, seconds, window, now, cost)


def _incr_existing(key: str, cost: int) -> int | None:
    try:
        return cache.incr(key, cost)
    except ValueError:
        return None


def get_many_and_hit(keys: list[str], scope: str, who: str,
                     *, cost: int = 1) -> tuple[dict, PendingHit]:
    """``cache.get_many(keys)`` and a request of ``who`` in ``scope`` counted into a window
    that has a counter already, in one round trip where the cache can (ours on Redis).
    Call ``verdict()`` on the result to judge the request; only that starts a new window's
    counter, so a caller that finds the request is not to be counted (an unknown API key)
    leaves no counter behind."""
    pending = _pending(scope, who, cost)
    combined = getattr(cache, "get_many_and_incr_existing", None)
    if combined is not None:
        found, pending.count = combined(keys, pending.key, cost)
    else:
        found = cache.get_many(keys)
        pending.count = _incr_existing(pending.key, cost)
    return found, pending


def peek(scope: str, who: str) -> Verdict:
    """Is ``who`` over the limit already (without counting a request)?"""
    key, judge = peek_later(scope, who)
    return judge(cache.get(key))


def peek_later(scope: str, who: str) -> tuple[str, Callable[[int | None], Verdict]]:
    """``peek`` in two halves, so a caller can fetch the counter together with other cache
    keys in one round trip: (cache key, verdict for the counter's value)."""
    limit, seconds = rate_for(scope)
    now = time.time()
    window = int(now // seconds)

    def judge(count: int | None) -> Verdict:
        if (count or 0) >= limit:
            return Verdict(False, max(1, int((window + 1) * seconds - now)))
        return Verdict(True, 0)

    return _key(scope, who, window), judge
