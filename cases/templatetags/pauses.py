"""Showing paused time: ``{{ total|pause_length }}`` -> "3 days 2 hours" / "3天2小时"."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def pause_length(value: timedelta | None) -> str:
    """Whole days, hours and minutes (at most two units: the largest ones), or "0 minutes"."""
    seconds = int(value.total_seconds()) if value else 0
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes and not days:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts[:2]) or ngettext("%(n)d minute", "%(n)d minutes", 0) % {"n": 0}
