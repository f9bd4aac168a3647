"""Production settings refuse to start with a weak SECRET_KEY or without DATABASE_URL and
CELERY_BROKER_URL (no silent fall-back to the embedded SQLite and filesystem broker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3Y!production-" + "abcdefghijklmnopqrstuvwxyz0123456789" + "-for-tests-only"
GOOD_ENV = {
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "complaints.example.com",
    "DATABASE_URL": "postgres://complaints@db.example.com:5432/complaints",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
}


def _import_prod_settings(**overrides: str | None) -> subprocess.CompletedProcess[str]:
    """Import the production settings module in a fresh interpreter with GOOD_ENV plus
    ``overrides`` (None removes a variable)."""
    env = {key: value for key, value in os.environ.items()
           if key not in GOOD_ENV and key != "DJANGO_SETTINGS_MODULE"}
    env.update(GOOD_ENV)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import complaints_project.settings.prod"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_production_settings_load_with_production_values():
    result = _import_prod_settings()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "short-but-varied-0123456789"}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "abcd" * 20}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "dev-insecure-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"},
         "Set SECRET_KEY"),
        ({"DATABASE_URL": None}, "Set DATABASE_URL"),
        ({"CELERY_BROKER_URL": None}, "Set CELERY_BROKER_URL"),
    ],
    ids=["no-key", "short-key", "four-distinct-characters", "dev-default", "no-database",
         "no-broker"],
)
def test_production_settings_refuse_to_start(overrides, message):
    result = _import_prod_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
