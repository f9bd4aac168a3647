"""In-app alerts of staff members: what the reader does with them."""

from __future__ import annotations

from collections.abc import Collection

from django.utils import timezone

from cases.models import Alert, User


def alerts_mark_read(*, actor: User, alert_ids: Collection[int] | None = None) -> int:
    """Mark ``actor``'s unread alerts read: those in ``alert_ids``, or all of them when it is
    None. Somebody else's alert, or one already read, is left alone (so it is not counted).
    Returns how many were marked. One UPDATE: no lock needed, a repeat changes nothing."""
    unread = Alert.objects.filter(recipient=actor, read_at__isnull=True)
    if alert_ids is not None:
        unread = unread.filter(pk__in=list(alert_ids))
    return unread.update(read_at=timezone.now())
