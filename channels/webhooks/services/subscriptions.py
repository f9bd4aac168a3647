"""Which active endpoints subscribe to what, read on every recorded event: kept in the shared
cache so that a case change costs no extra query (the intake's query budget).

Saving or deleting an endpoint drops the cached list at once and again after commit (a
process that re-read the old rows in between cannot keep them). Entries expire after
``MAX_AGE``: the bound on staleness when the cache is not shared between processes (the
embedded default's local memory). A cache that is down costs one query per event.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from channels.webhooks.models import WebhookEndpoint
from complaints_project.cache_outage import CACHE_DOWN_ERRORS, warn_cache_down

logger = logging.getLogger(__name__)

KEY = "webhooks-active-endpoints"
MAX_AGE = 60  # seconds


def active_subscriptions() -> list[tuple[int, frozenset[str]]]:
    """(endpoint id, subscribed event types) of every active endpoint."""
    try:
        found = cache.get(KEY)
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "webhook endpoints not cached (%s); reading the database", exc)
        return _load()
    if found is None:
        found = _load()
        try:
            cache.set(KEY, found, MAX_AGE)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "webhook endpoints not cached (%s)", exc)
    return found


def _load() -> list[tuple[int, frozenset[str]]]:
    return [(pk, frozenset(events or [])) for pk, events in
            WebhookEndpoint.objects.filter(is_active=True).values_list("id", "events")]


def _forget() -> None:
    try:
        cache.delete(KEY)
    except CACHE_DOWN_ERRORS as exc:  # entries expire within MAX_AGE
        warn_cache_down(logger, "could not drop the cached webhook endpoints (%s)", exc)


def _changed(**kwargs: Any) -> None:
    _forget()
    transaction.on_commit(_forget, using=kwargs.get("using"))


def connect_signals() -> None:
    """Called from ``WebhooksConfig.ready``."""
    post_save.connect(_changed, sender=WebhookEndpoint, dispatch_uid="webhook-endpoints-save")
    post_delete.connect(_changed, sender=WebhookEndpoint,
                        dispatch_uid="webhook-endpoints-delete")
