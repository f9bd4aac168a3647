"""kombu's Redis transport with one publishing client per channel.

kombu's ``Channel.conn_or_acquire`` builds a new ``redis.Redis`` for every message it
publishes (each filling a table of ~200 response callbacks, about 0.1 ms of CPU, as
Django's Redis cache did: see ``complaints_project/cache.py``). A ``redis.Redis`` holds
nothing but its connection pool and is thread-safe, so the channel keeps one for its
synchronous pool. Selected with ``CELERY_BROKER_TRANSPORT`` when the broker is Redis.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        cached = self.__dict__.get("_publish_client")
        if cached is None or cached[0] is not pool:
            cached = (pool, super()._create_client(asynchronous=False))
            self.__dict__["_publish_client"] = cached
        return cached[1]


class Transport(redis.Transport):
    Channel = Channel
