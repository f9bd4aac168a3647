"""In-app alerts about department requests: their kinds, and writing them once per person."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.utils import translation

from cases.masking import text_for
from cases.models import Alert, Case, CaseDeadline, User

# Alert kinds (an alert tied to a deadline is unique per recipient, deadline and kind).
ALERT_NEW = "request_new"
ALERT_ANSWERED = "request_answered"
ALERT_ESCALATED = "request_escalated"
ALERT_DECIDED = "request_decided"
ALERT_CLOSED = "request_closed"
ALERT_OVERDUE = "request_overdue"


def notify(
    recipients: Iterable[User | None], *, case: Case, kind: str, message: Callable[[], str],
    now: datetime, actor: User | None = None, deadline: CaseDeadline | None = None,
) -> int:
    """One in-app alert per person, written in that person's language, with personal data
    masked for those who may not see it (before the text is cut to its column, so a cut
    never leaves part of a number unmasked). The actor is not told about their own action.
    With a ``deadline`` an alert is created at most once."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        if actor is not None and user.pk == actor.pk:
            continue
        seen.add(user.pk)
        if deadline is not None and Alert.objects.filter(
            recipient=user, deadline=deadline, kind=kind
        ).exists():
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            text = text_for(user, str(message()))[:300]
        rows.append(Alert(recipient=user, case=case, deadline=deadline, kind=kind, message=text,
                          created_at=now))
    # ignore_conflicts: two sweeps racing on PostgreSQL still write each alert once.
    Alert.objects.bulk_create(rows, ignore_conflicts=deadline is not None)
    return len(rows)
