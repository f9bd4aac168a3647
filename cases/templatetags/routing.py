"""``{% agent_availability %}``: the signed-in agent's away switch (preferences page)."""

from __future__ import annotations

from typing import Any

from django import template

from cases import permissions as perms
from cases.models import AgentProfile

register = template.Library()


@register.inclusion_tag("cases/desk/_availability.html", takes_context=True)
def agent_availability(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    if not perms.is_agent(user):
        return {}
    profile = AgentProfile.objects.filter(user=user).first()
    return {"show": True, "profile": profile, "away": bool(profile and profile.away),
            "csrf_token": context.get("csrf_token")}
