"""Statutory regimes 法定时限 on cases: the regime a case runs under and its clocks
(``clock``), how a regime counts (``limits``), and extensions with approval
(``extensions``)."""

from .clock import (
    find_forwarded,
    regime_id_for,
    statutory_intake,
    statutory_on_acceptance,
    statutory_on_decision,
)
from .extensions import extension_decide, extension_request, may_decide
from .limits import count_limit, days_label, due_label, last_day, regime_limit_label

__all__ = [
    "count_limit",
    "days_label",
    "due_label",
    "extension_decide",
    "extension_request",
    "find_forwarded",
    "last_day",
    "may_decide",
    "regime_id_for",
    "regime_limit_label",
    "statutory_intake",
    "statutory_on_acceptance",
    "statutory_on_decision",
]
