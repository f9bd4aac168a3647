"""``{% live_watch area regions %}``: make a page refresh its regions when what it shows
changes; ``{% live_presence case %}``: the workspace's presence line and conflict banner."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from cases.services import live

register = template.Library()


@register.inclusion_tag("cases/live/_watch.html", takes_context=True)
def live_watch(context: dict[str, Any], area: str, regions: str) -> dict[str, Any]:
    user = context["request"].user
    keys = live.live_keys_for(user, area)
    if not keys:
        return {}
    return {
        "check_url": reverse("desk:live_check") + "?" + urlencode(
            {"t": live.live_token(user, keys)}),
        "stamp": live.live_stamp(keys), "regions": regions, "interval": live.poll_seconds(),
    }


@register.inclusion_tag("cases/live/_presence.html", takes_context=True)
def live_presence(context: dict[str, Any], case: Any) -> dict[str, Any]:
    return {"case": case, "request": context["request"], "csrf_token": context.get("csrf_token")}
