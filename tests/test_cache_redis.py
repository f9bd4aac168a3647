"""Our Redis cache backend (complaints_project/cache.py): one client per pool, and incr in
one round trip that never creates a counter. Needs a real Redis (the broker URL's)."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL.startswith("redis"),
                                reason="needs a real Redis: set CELERY_BROKER_URL=redis://...")


@pytest.fixture
def cache():
    from complaints_project.cache import RedisCache

    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    yield backend
    backend.delete_many(["n", "missing"])  # only our keys (clear() would flush the db)


def test_one_client_per_pool(cache):
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client


def test_incr_counts_an_existing_key_and_keeps_its_expiry(cache):
    cache.set("n", 5, 30)
    assert cache.incr("n") == 6 and cache.incr("n", 4) == 10
    raw = cache._cache.get_client(write=True)
    assert 0 < raw.ttl(cache.make_key("n")) <= 30
    assert cache.get("n") == 10


def test_incr_of_a_missing_key_raises_and_creates_nothing(cache):
    with pytest.raises(ValueError):
        cache.incr("missing")
    assert cache.get("missing") is None


def test_rate_limit_windows_work_on_it(cache, settings, monkeypatch):
    from channels import throttling

    monkeypatch.setattr(throttling, "cache", cache)
    settings.CHANNELS_RATE_LIMITS = {"api": "2/60"}
    verdicts = [throttling.hit("api", "key:1").allowed for _ in range(3)]
    assert verdicts == [True, True, False]


def test_get_many_and_incr_existing_is_one_round_trip_and_survives_a_script_flush(cache):
    cache.set("a", {"x": 1}, 30)
    cache.set("n", 1, 30)
    raw = cache._cache.get_client(write=True)
    sent = []
    real = raw.connection_pool.get_connection

    def counting(*args, **kwargs):
        sent.append(1)
        return real(*args, **kwargs)

    cache._cache.get_many_and_incr_existing([cache.make_key("a")], cache.make_key("n"), 1)
    raw.connection_pool.get_connection = counting
    try:
        found, count = cache.get_many_and_incr_existing(["a", "missing"], "n", 2)
    finally:
        raw.connection_pool.get_connection = real
    assert found == {"a": {"x": 1}} and count == 4 and len(sent) == 1
    raw.script_flush()  # Redis restarted or flushed its scripts: loaded again, then counted
    assert cache.get_many_and_incr_existing([], "n", 1) == ({}, 5)
    assert cache.get_many_and_incr_existing(["a"], "missing", 1) == ({"a": {"x": 1}}, None)
    assert cache.get("missing") is None  # a counter is never created by it
    cache.delete("a")


def test_the_api_key_lookup_and_rate_limit_share_one_round_trip(cache, settings, monkeypatch):
    """throttling.get_many_and_hit on Redis: the first request of a window starts the
    counter, later ones are counted in the same trip as the lookup."""
    from channels import throttling

    monkeypatch.setattr(throttling, "cache", cache)
    settings.CHANNELS_RATE_LIMITS = {"api": "2/60"}
    cache.set("a", "entry", 30)
    verdicts = []
    for _ in range(3):
        found, pending = throttling.get_many_and_hit(["a"], "api", "key:abc")
        assert found == {"a": "entry"}
        verdicts.append(pending.verdict().allowed)
    assert verdicts == [True, True, False]
    _found, unjudged = throttling.get_many_and_hit(["a"], "api", "key:unknown")
    assert unjudged.count is None and cache.get(unjudged.key) is None
    cache.delete_many(["a", pending.key])


def test_an_error_reply_is_raised_and_the_connection_stays_in_step(cache):
    from redis.exceptions import ResponseError

    raw = cache._cache.get_client(write=True)
    raw.rpush(cache.make_key("n"), "x")  # INCRBY on a list: the script's reply is an error
    cache.set("a", 1, 30)
    with pytest.raises(ResponseError):
        cache.get_many_and_incr_existing(["a"], "n", 1)
    raw.delete(cache.make_key("n"))
    cache.set("n", 7, 30)
    assert cache.get_many_and_incr_existing(["a"], "n", 1) == ({"a": 1}, 8)
    cache.delete("a")
