"""/healthz: is the database reachable, and the broker? 200 with JSON when both are, else 503.

Each check has its own short timeout, so a hung database or broker makes /healthz answer 503
quickly instead of holding a web thread. The broker check reuses one connection per process
(and URL) across calls rather than opening one per probe.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

DATABASE_TIMEOUT_MS = 1500
BROKER_TIMEOUT_S = 1.5
DATABASE_PROBE = "SELECT 1"

_broker_lock = threading.Lock()
_broker: Connection | None = None
_broker_key = ""


def _check_database() -> tuple[bool, str]:
    """Run DATABASE_PROBE; on PostgreSQL with a statement timeout of DATABASE_TIMEOUT_MS for
    this transaction only (the connection's own timeout is restored at its end)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                               [str(DATABASE_TIMEOUT_MS)])
            cursor.execute(DATABASE_PROBE)
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return False, type(exc).__name__


def _broker_connection(url: str) -> Connection:
    """This process's probe connection to ``url`` (with the broker's transport options),
    created on first use and replaced when the settings change. Call with the lock held."""
    global _broker, _broker_key
    options = {**(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})}
    key = f"{url} {sorted(options.items())!r}"
    if _broker is not None and _broker_key != key:
        _broker.release()
        _broker = None
    if _broker is None:
        if url.startswith(("redis", "rediss")):
            options.update(socket_timeout=BROKER_TIMEOUT_S,
                           socket_connect_timeout=BROKER_TIMEOUT_S)
        _broker = Connection(url, connect_timeout=BROKER_TIMEOUT_S, transport_options=options)
        _broker_key = key
    return _broker


def _check_broker() -> tuple[bool, str]:
    """Connect once, then each call makes one round trip (a Redis PING) on that connection:
    a connection that merely looks open would hide an outage. A failure drops the connection,
    so the next call connects afresh."""
    global _broker
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True, "eager"
    with _broker_lock:
        try:
            conn = _broker_connection(url)
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_S)
            if url.startswith(("redis", "rediss")):
                conn.default_channel.client.ping()
            return True, url.split("://", 1)[0]
        except Exception as exc:  # noqa: BLE001
            if _broker is not None:
                _broker.release()
                _broker = None
            return False, type(exc).__name__


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    db_ok, db_detail = _check_database()
    broker_ok, broker_detail = _check_broker()
    healthy = db_ok and broker_ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
