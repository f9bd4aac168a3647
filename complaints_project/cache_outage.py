"""The shared cache (Redis) being down: the errors its callers fall back on, and a warning
logged once a minute per process and message instead of once per request; and the change
counters kept in it."""

from __future__ import annotations

import logging
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What Django's Redis cache raises when Redis cannot be reached (refused, reset, timed out).
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
# ... and what a cache call site falls back on (a socket error that escaped the client too).
CACHE_DOWN_ERRORS: tuple[type[BaseException], ...] = (*REDIS_DOWN_ERRORS, OSError)
WARN_EVERY = 60.0  # seconds between two warnings with the same message

_last_warning: dict[str, float] = {}


def warn_cache_down(logger: logging.Logger, message: str, exc: BaseException) -> None:
    """Log ``message`` (with ``%s`` for the error's class) on ``logger``, at most once every
    WARN_EVERY seconds in this process."""
    now = time.monotonic()
    if now - _last_warning.get(message, -WARN_EVERY) >= WARN_EVERY:
        _last_warning[message] = now
        logger.warning(message, type(exc).__name__)


def bump_counter(key: str) -> None:
    """Increment the never-expiring counter ``key`` of the default cache. A fresh or evicted
    counter starts from the clock, so it never repeats a value a reader may hold. Raises
    what the cache raises when it is down (``CACHE_DOWN_ERRORS``)."""
    from django.core.cache import cache

    try:
        cache.add(key, time.time_ns() // 1000, None)
        cache.incr(key)
    except ValueError:  # evicted between add and incr: the next change restarts it
        pass
