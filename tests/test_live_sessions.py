"""Sessions read from the shared cache (production with Redis): the live check then costs one
query (the user), signing out still ends the session everywhere, and a Redis that cannot be
reached falls back to the database instead of failing the request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import caches
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from cases.services import live
from tests.test_live import stamp_of

pytestmark = pytest.mark.django_db
CACHED = "complaints_project.sessions"


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = CACHED


def _check_url(user) -> str:
    return reverse("desk:live_check") + "?t=" + live.live_token(user, [live.CASES])


def test_the_live_check_reads_the_session_from_the_cache(
    cached_sessions, client, frontline, django_assert_num_queries,
):
    client.force_login(frontline)
    url = _check_url(frontline)
    stamp_of(client, url)
    with django_assert_num_queries(1):  # the user; the session came from the cache
        stamp_of(client, url)


def test_signing_out_ends_the_cached_session(cached_sessions, client, frontline):
    client.force_login(frontline)
    url = _check_url(frontline)
    stamp_of(client, url)
    cookie = client.cookies["sessionid"].value

    client.post(reverse("logout"))
    client.cookies["sessionid"] = cookie  # a copy of the old cookie, replayed

    assert client.get(url).status_code == 403


def test_a_redis_outage_falls_back_to_the_database(cached_sessions, client, frontline):
    client.force_login(frontline)
    url = _check_url(frontline)
    down = RedisConnectionError("refused")
    backend = type(caches["default"])
    with mock.patch.object(backend, "get", side_effect=down), \
            mock.patch.object(backend, "get_many", side_effect=down), \
            mock.patch.object(backend, "set", side_effect=down):
        response = client.get(url)
    assert response.status_code == 200 and response.json()["stamp"] == ""


@pytest.mark.parametrize(("cache_url", "engine"), [
    ("redis://127.0.0.1:6379/1", CACHED),
    ("", "django.contrib.sessions.backends.db"),  # per-process cache: the database
])
def test_the_cached_engine_only_with_a_shared_cache(cache_url, engine):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CACHE_URL": cache_url,
           "DJANGO_SETTINGS_MODULE": "complaints_project.settings.test"}
    code = "import django; django.setup(); from django.conf import settings; " \
           "print(settings.SESSION_ENGINE)"
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == engine
