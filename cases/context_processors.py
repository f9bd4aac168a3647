"""Template context shared by every desk page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def desk(request: HttpRequest) -> dict[str, Any]:
    """Lazily expose the signed-in user's unread alert count (one query, only if used)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread_alerts() -> int:
        return user.alerts.filter(read_at__isnull=True).count()

    return {"unread_alert_count": unread_alerts}
