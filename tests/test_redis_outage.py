"""Intake while the cache's Redis is down: the API, the web form and the tracking page keep
answering (rate limits count per process, the key lookup reads the database); where a
request cannot be served the answer is a JSON 503 with Retry-After or the form with what
the customer typed. The last test stops a real Redis in the middle of a burst."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time

import pytest
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from cases.models import Case
from channels import throttling
from tests.test_api import BODY, URL, post
from tests.test_intake_web import FORM

pytestmark = pytest.mark.django_db


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _env(intake_env):
    throttling._local_counts.clear()
    yield intake_env
    throttling._local_counts.clear()


@pytest.fixture
def cache_down():
    """The default cache is a Redis nobody listens on (every call is refused)."""
    with override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{_unused_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }}):
        yield


def test_the_api_accepts_complaints_with_the_cache_down(client, app_key, cache_down):
    _channel, key = app_key
    created = post(client, key, BODY)
    assert created.status_code == 201, created.content
    assert Case.objects.filter(reference=created.json()["reference"]).count() == 1
    status = client.get(f"{URL}/{created.json()['reference']}",
                        HTTP_AUTHORIZATION=f"Bearer {key}")
    assert status.status_code == 200 and status.json()["reference"] == created.json()["reference"]


def test_with_the_cache_down_a_revoked_key_is_refused_at_once(client, app_key, cache_down):
    from django.utils import timezone

    from channels.models import ApiKey

    channel, key = app_key
    assert post(client, key, BODY).status_code == 201
    assert ApiKey.objects.get(channel=channel).last_used_at is not None  # recorded anyway
    api_key = ApiKey.objects.get(channel=channel)
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])  # its cache entry cannot be dropped: no error
    assert post(client, key, {**BODY, "external_id": "after"}).status_code == 401


def test_with_the_cache_down_rate_limits_count_per_process_at_the_same_rate(
        client, app_key, cache_down, settings, caplog):
    settings.CHANNELS_RATE_LIMITS = {"api": "2/60"}
    _channel, key = app_key
    with caplog.at_level(logging.WARNING, logger="channels.throttling"):
        codes = [post(client, key, {**BODY, "external_id": f"e-{i}"}).status_code
                 for i in range(3)]
    assert codes == [201, 201, 429]
    assert Case.objects.count() == 2
    warnings = [r for r in caplog.records if "rate-limit cache unavailable" in r.getMessage()]
    assert len(warnings) <= 1  # once per interval, not once per request


def test_with_the_cache_down_a_bad_key_is_a_401_and_still_locked_out(client, cache_down,
                                                                     settings):
    settings.CHANNELS_RATE_LIMITS = {"api_auth_fail_key": "2/600"}
    codes = [post(client, "guess-aaaa", BODY).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_the_web_form_and_the_tracking_page_work_with_the_cache_down(client, cache_down):
    response = client.post("/complain/", FORM)
    assert response.status_code == 302, response.content
    case = Case.objects.get()
    found = client.post("/track/", {"reference": case.reference, "code": case.tracking_code})
    assert found.status_code == 200 and case.subject in found.content.decode()


def test_an_api_call_that_cannot_be_served_is_a_json_503_with_retry_after(client, app_key,
                                                                         monkeypatch):
    def unreachable(**kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("channels.api.complaint_submit", unreachable)
    _channel, key = app_key
    response = post(client, key, BODY)
    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["error"] == "unavailable"


def test_a_form_that_cannot_be_saved_comes_back_with_what_was_typed(client, monkeypatch):
    def unreachable(**kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("channels.views.complaint_submit", unreachable)
    response = client.post("/complain/", FORM)
    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    html = response.content.decode()
    assert "We could not save your complaint just now." in html
    assert FORM["description"] in html and FORM["subject"] in html
    assert not Case.objects.exists()


# --- a real Redis stopped during a burst --------------------------------------------------------
FAULT_PORT = 6396  # this test's own Redis; never the shared one
DATABASE = os.environ.get("DATABASE_URL", "")
# How long Redis stays down; the 30 s: TEST_REDIS_OUTAGE_SECONDS=30.
OUTAGE_SECONDS = float(os.environ.get("TEST_REDIS_OUTAGE_SECONDS", "6"))


class OwnRedis:
    """A throw-away redis-server on FAULT_PORT, without persistence (a restart loses every
    message, as an outage may)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(FAULT_PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", FAULT_PORT), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {FAULT_PORT}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis():
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", FAULT_PORT)) == 0:
            pytest.skip(f"port {FAULT_PORT} is taken: this test needs its own Redis there")
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache_and_broker(own_redis, settings):
    """Django's cache and Celery's broker both on the test's own Redis; tasks published,
    not run inline (the outage must reach the broker too)."""
    from complaints_project.celery import app

    url = f"redis://127.0.0.1:{FAULT_PORT}"
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager",
                                      "broker_transport_options")}
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 0
    with override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{url}/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }}):
        app.close()  # drop connections to the suite's broker, if any
        app.conf.update(broker_url=f"{url}/1", task_always_eager=False,
                        broker_transport_options={"socket_connect_timeout": 0.5,
                                                  "socket_timeout": 1})
        try:
            yield app
        finally:
            app.close()
            app.conf.update(saved)


def _drain(app) -> int:
    """Run every message left on the broker's queues in this process (a worker would): each
    is a late duplicate once the sweep has sent its notice."""
    from kombu import Connection

    names = [queue.name for queue in app.conf.task_queues or ()] or [app.conf.task_default_queue]
    ran = 0
    with Connection(app.conf.broker_url) as conn:
        for name in names:
            queue = conn.SimpleQueue(name)
            try:
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        break
                    args, kwargs, _embed = message.decode()
                    app.tasks[message.headers["task"]].apply(args=args, kwargs=kwargs)
                    message.ack()
                    ran += 1
            finally:
                queue.close()
    return ran


@pytest.mark.realservices
@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="needs redis-server installed (the test starts its own on 6396)")
@pytest.mark.skipif(not DATABASE.startswith("postgres"),
                    reason="runs against PostgreSQL: set DATABASE_URL=postgres://...")
@pytest.mark.django_db(transaction=True)
def test_a_burst_survives_redis_stopped_and_every_acknowledgement_goes_out_once(
        client, app_key, redis_cache_and_broker, own_redis, settings):
    from django.core import mail

    from cases.models import Notice
    from cases.models.notices import NoticeKind, NoticeStatus
    from cases.services.outbox import outbox_redispatch

    app = redis_cache_and_broker
    settings.CHANNELS_RATE_LIMITS = {"complain": "10000/60", "api": "10000/60"}
    _channel, key = app_key
    sent: dict[str, dict] = {}  # customer email -> what was sent (to resend after a 503)
    answers: list[tuple[str, int, str]] = []

    def one(i: int) -> None:
        email = f"burst-{i}@example.com"
        if i % 2:
            body = {**BODY, "external_id": f"burst-{i}",
                    "customer": {"name": "王芳", "phone": f"139{i:08d}", "email": email,
                                 "preferred_channel": "email"}}
            sent[email] = {"api": body}
            response = post(client, key, body)
        else:
            form = {**FORM, "phone": f"139{i:08d}", "email": email,
                    "preferred_channel": "email", "submission_id": f"{i:032x}"}
            sent[email] = {"form": form}
            response = client.post("/complain/", form)
        answers.append((email, response.status_code, response.get("Content-Type", "")))
        if response.status_code == 503:
            assert response.has_header("Retry-After")

    started = time.monotonic()
    for i in range(8):
        one(i)
    own_redis.stop()
    down_at = time.monotonic()
    i = 8
    while time.monotonic() - down_at < OUTAGE_SECONDS:  # requests while Redis is down
        one(i)
        i += 1
    during = answers[8:]
    own_redis.start()
    for j in range(i, i + 8):
        one(j)
    total = j + 1

    bad = [(e, s, t) for e, s, t in answers
           if s >= 500 and not (s == 503 and t.startswith("application/json"))]
    assert not bad, bad
    assert [a for a in during if a[1] in (201, 302)], "nothing was accepted while Redis was down"
    # A client that got a 503 sends the same complaint again (same id: no double).
    for email, status, _type in answers:
        if status >= 500:
            again = sent[email]
            response = (post(client, key, again["api"]) if "api" in again
                        else client.post("/complain/", again["form"]))
            assert response.status_code in (200, 201, 302), response.content
    assert Case.objects.count() == total
    for email in sent:
        assert Case.objects.filter(customer__email=email).count() == 1, email

    # After recovery: the sweep sends what the outage kept queued, inline like a worker.
    app.conf.task_always_eager = True
    redispatched = 0
    while swept := outbox_redispatch():  # beat runs it each minute; each run takes 1000
        redispatched += swept
    app.conf.task_always_eager = False
    assert redispatched >= len(during)  # notices of the outage (and of the lost messages)
    assert _drain(app) > 0  # the messages that reached the broker: duplicates by now
    acks = Notice.objects.filter(kind=NoticeKind.ACKNOWLEDGEMENT)
    assert acks.count() == total
    assert set(acks.values_list("status", flat=True)) == {NoticeStatus.SENT}
    delivered = [address for message in mail.outbox for address in message.to]
    for email in sent:
        assert delivered.count(email) == 1, email
    assert time.monotonic() - started < OUTAGE_SECONDS + 24
