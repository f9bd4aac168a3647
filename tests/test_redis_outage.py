"""Intake while the cache's Redis is down: the API, the web form and the tracking page keep
answering (rate limits count per process, the key lookup reads the database); where a
request cannot be served the answer is a JSON 503 with Retry-After or the form with what
the customer typed. The last test stops a real Redis in the middle of a burst."""

from __future__ import annotations

import json
import logging
import socket

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
