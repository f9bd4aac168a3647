"""Periodic work of the intake channels."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from channels.email_intake import ingest_email
from channels.imap_client import MailboxError, MailboxReader

logger = logging.getLogger(__name__)

_LOCK = "channels:poll-mailbox"
_BATCH = 50


@shared_task(name="channels.tasks.poll_mailbox_task", acks_late=True, ignore_result=True)
def poll_mailbox_task(limit: int = _BATCH) -> dict[str, int]:
    """Read unseen messages from the complaints mailbox (settings IMAP_*), turn each into a
    case or a customer message, and mark it seen once its effect is committed.

    Safe to run twice at once or after a crash: messages are peeked, not marked read, until
    processed, and each Message-ID is claimed once in the database. A lock in the cache keeps
    two beat ticks from reading the same batch in parallel (an optimisation, not a
    correctness need). Does nothing when IMAP_HOST is empty."""
    counts: dict[str, int] = {}
    if not settings.IMAP_HOST:
        return counts
    if not cache.add(_LOCK, 1, 300):
        return {"locked": 1}
    try:
        with MailboxReader(
            settings.IMAP_HOST, settings.IMAP_PORT, settings.IMAP_USER, settings.IMAP_PASSWORD,
            folder=settings.IMAP_FOLDER, use_ssl=settings.IMAP_USE_SSL, timeout=30,
        ) as mailbox:
            for uid, raw in mailbox.fetch_unseen(limit):
                try:
                    outcome = ingest_email(raw)
                except Exception:  # noqa: BLE001 - leave it unseen: retried next run
                    logger.exception("inbound e-mail uid %s failed; it stays unseen", uid)
                    counts["failed"] = counts.get("failed", 0) + 1
                    continue
                counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
                mailbox.mark_seen(uid)
    except MailboxError as exc:
        logger.warning("mailbox poll failed: %s", exc)
        counts["error"] = 1
    finally:
        cache.delete(_LOCK)
    return counts
