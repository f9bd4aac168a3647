"""Session engine for production: sessions read from the shared cache (Redis), written to
both, the database being the record (Django's ``cached_db``), so a signed-in request does
not query the session table. Used only when the cache is shared by every web process
(settings); a Redis that cannot be reached falls back to the database instead of failing
the request, and is logged once a minute."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db, db

from complaints_project.cache_outage import CACHE_DOWN_ERRORS, warn_cache_down

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    """``cached_db`` whose cache calls fall back to the database when Redis is down."""

    def load(self) -> dict[str, Any]:
        try:
            return super().load()
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "sessions read from the database (%s)", exc)
            return db.SessionStore.load(self)

    def exists(self, session_key: str) -> bool:
        try:
            return super().exists(session_key)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "sessions read from the database (%s)", exc)
            return db.SessionStore.exists(self, session_key)

    def delete(self, session_key: str | None = None) -> None:
        # The database row goes first (in the parent), so the session is over even if the
        # cached copy cannot be removed: a cached copy is only read while Redis answers.
        try:
            super().delete(session_key)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "a signed-out session stays in the cache (%s)", exc)
