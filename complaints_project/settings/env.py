"""Reading configuration from the environment (twelve-factor), with no extra dependency."""

from __future__ import annotations

import os
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


def database_from_url(url: str, base_dir: Path) -> dict[str, Any]:
    """Turn ``postgres://user:pw@host:port/name`` or ``sqlite:///path`` into a DATABASES entry.

    SQLite gets WAL and IMMEDIATE transactions: the web process and the embedded worker write
    at the same time, and IMMEDIATE makes a writer wait for the lock instead of failing with
    "database is locked" half-way through a transaction.
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
