"""Reading configuration from the environment (twelve-factor), with no extra dependency."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def process_kind(argv: list[str] | None = None) -> str:
    """``"background"`` for a Celery worker or beat, management commands (other than
    ``runserver``) and ``bench/`` scripts, else ``"web"`` (any web server, and the tests).
    ``DB_TIMEOUT_PROFILE=web|background`` overrides the guess. Background processes get the
    longer database timeouts: sweeps and rebuilds run long."""
    forced = os.environ.get("DB_TIMEOUT_PROFILE", "").strip().lower()
    if forced in {"web", "background"}:
        return forced
    argv = sys.argv if argv is None else argv
    if not argv:
        return "web"
    program = Path(argv[0])
    if program.name == "celery" or program.parent.name == "celery":  # also ``python -m celery``
        return "background"
    if program.name in {"manage.py", "django-admin"} and len(argv) > 1:
        return "web" if argv[1] == "runserver" else "background"
    if program.parent.name == "bench":  # the benchmarks seed and measure millions of rows
        return "background"
    return "web"


def postgres_timeouts(statement_ms: int, lock_ms: int) -> str:
    """libpq ``options`` setting both timeouts for every session of the connection (0: none)."""
    return f"-c statement_timeout={max(statement_ms, 0)} -c lock_timeout={max(lock_ms, 0)}"


def database_from_url(url: str, base_dir: Path, timeouts: str = "") -> dict[str, Any]:
    """Turn ``postgres://user:pw@host:port/name`` or ``sqlite:///path`` into a DATABASES entry.

    SQLite gets WAL and IMMEDIATE transactions: the web process and the embedded worker write
    at the same time, and IMMEDIATE makes a writer wait for the lock instead of failing with
    "database is locked" half-way through a transaction.
    PostgreSQL gets ``timeouts`` (``postgres_timeouts``) in its libpq ``options``, after any
    ``options`` the URL gives.
    """
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "sqlite":
        path = unquote(parsed.path)
        if parsed.netloc:  # sqlite://relative/path
            path = parsed.netloc + path
        if path.startswith("/") and url.startswith("sqlite:////"):
            name = path
        else:
            name = str(base_dir / path.lstrip("/")) if path not in ("", "/") else str(
                base_dir / "db.sqlite3"
            )
        if path == "/:memory:" or path == ":memory:":
            name = ":memory:"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        if timeouts:
            options["options"] = f"{options.get('options', '')} {timeouts}".strip()
        config: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
        return config
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parsed.scheme!r}")
