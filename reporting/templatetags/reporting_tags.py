"""Formatting of KPI values in templates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def kpi_fmt(value: Any, unit: str = "percent") -> str:
    """``95.0 %`` or ``36.5 h``; an em dash when there is no data."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    return f"{number:.1f} h" if unit == "hours" else f"{number:.1f} %"


@register.filter
def signed(value: Any, unit: str = "percent") -> str:
    """A change with its sign: ``+2.5 pp`` (percentage points) or ``-3.0 h``."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    suffix = "h" if unit == "hours" else _("pp")
    return f"{number:+.1f} {suffix}"


@register.filter
def target_fmt(line: Any) -> str:
    kpi = line.kpi
    if kpi.direction == "falling":
        return _("falling")
    if line.target is None:
        return "—"
    sign = "≥" if kpi.direction == "at_least" else "≤"
    return f"{sign} {Decimal(line.target):.0f} %"


@register.filter
def item(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
