"""Template context shared by every desk page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def desk(request: HttpRequest) -> dict[str, Any]:
    """Lazily expose the signed-in user's unread alert count and away state (one query
    for both, only if a template uses either)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    state: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        if not state:
            from cases.selectors.alerts import navbar_state_for

            state.update(navbar_state_for(user))
        return state

    return {"unread_alert_count": lambda: read()["unread"],
            "agent_away": lambda: read()["away"]}
