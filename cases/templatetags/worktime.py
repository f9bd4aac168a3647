"""Template tags for deadlines counted in working time (see ``cases.worktime.labels``)."""

from __future__ import annotations

from datetime import datetime

from django import template

from cases.worktime import labels

register = template.Library()


@register.simple_tag
def countdown(due_at: datetime | None, calendar_id: int | None = None) -> str:
    """``{% countdown d.due_at d.calendar_id %}``: a deadline's countdown text."""
    return labels.countdown(due_at, calendar_id) if due_at else ""


@register.simple_tag
def basis_attr(calendar_id: int | None) -> str:
    """``data-basis`` value: "working" when the deadline counts working time."""
    return "working" if calendar_id is not None else "elapsed"
