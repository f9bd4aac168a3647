"""/healthz under trouble: it answers 503 within its own short timeouts when the database or
the broker hangs, and reuses one broker connection across calls instead of opening one each.
The PostgreSQL and Redis tests skip with the reason when those are absent."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import kombu
import pytest
import redis
import redis.connection
from django.db import connection

from complaints_project import health

BROKER = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_probe_connection() -> Iterator[None]:
    """Each test starts without the process's cached probe connection."""
    with health._broker_lock:
        if health._broker is not None:
            health._broker.release()
        health._broker = None
    yield


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a hung broker."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def _use_broker(settings, url: str, **options: object) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = dict(options)


def test_repeated_checks_reuse_one_broker_connection(client, settings, tmp_path, monkeypatch):
    _use_broker(settings, "filesystem://", data_folder_in=str(tmp_path),
                data_folder_out=str(tmp_path))
    made: list[kombu.Connection] = []

    def counting(*args: object, **kwargs: object) -> kombu.Connection:
        made.append(kombu.Connection(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(health, "Connection", counting)
    for _ in range(5):
        response = client.get("/healthz")
        assert response.status_code == 200
    assert len(made) == 1
    body = response.json()
    assert set(body) == {"status", "database", "broker", "elapsed_ms"}
    assert body["broker"] == {"ok": True, "detail": "filesystem"}


@pytest.mark.realservices
@pytest.mark.skipif(not BROKER.startswith("redis"),
                    reason="needs a real Redis: set CELERY_BROKER_URL=redis://host:port/db")
def test_repeated_checks_keep_one_redis_client_and_still_ping_it(client, settings,
                                                                  monkeypatch):
    name = f"healthz-test-{os.getpid()}-{time.monotonic_ns()}"
    _use_broker(settings, BROKER, client_name=name)
    pings = []
    original_send = redis.connection.AbstractConnection.send_command

    def send_command(self: redis.connection.AbstractConnection, *args: object,
                     **kwargs: object) -> None:
        if args and str(args[0]).upper() == "PING":
            pings.append(1)
        original_send(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", send_command)
    server = redis.Redis.from_url(BROKER)

    def ours() -> list[str]:
        return [c["id"] for c in server.client_list() if c.get("name") == name]

    assert client.get("/healthz").status_code == 200
    first = ours()
    for _ in range(4):
        assert client.get("/healthz").status_code == 200
    assert len(first) == 1 and ours() == first  # the same server-side client all along
    assert len(pings) >= 5  # and each probe really asked the broker (plus health checks)
    server.close()


def test_a_hung_broker_answers_503_within_its_timeout(client, settings, silent_broker):
    _use_broker(settings, silent_broker)
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3 * health.BROKER_TIMEOUT_S + 1
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


def test_after_a_broker_failure_the_next_check_connects_again(client, settings, silent_broker,
                                                               tmp_path):
    _use_broker(settings, silent_broker)
    assert client.get("/healthz").status_code == 503
    assert health._broker is None  # the failed connection was dropped, not kept
    _use_broker(settings, "filesystem://", data_folder_in=str(tmp_path),
                data_folder_out=str(tmp_path))
    assert client.get("/healthz").status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="a statement timeout needs PostgreSQL: set DATABASE_URL=postgres://...")
@pytest.mark.django_db(transaction=True)  # autocommit, as in a request: the probe's own transaction
def test_a_hung_database_answers_503_within_its_timeout(client, monkeypatch):
    monkeypatch.setattr(health, "DATABASE_PROBE", "SELECT pg_sleep(10)")
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < health.DATABASE_TIMEOUT_MS / 1000 + 1.5
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": False, "detail": "OperationalError"}
    # The timeout was the probe's own: the connection keeps the web default afterwards.
    monkeypatch.setattr(health, "DATABASE_PROBE", "SELECT 1")
    assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "15s"
