"""Statutory regimes 法定时限 on cases: the regime a case runs under and its clocks
(``clock``), how a regime counts (``limits``), and extensions with approval
(``extensions``)."""

from .clock import (
    effective_due,
    find_forwarded,
    regime_id_for,
    statutory_intake,
    statutory_on_acceptance,
    statutory_on_decision,
)
from .extensions import extension_decide, extension_request, may_decide
from .limits import days_label, due_label, last_day, limit_due, regime_limit_label

__all__ = [
    "days_label",
    "due_label",
    "effective_due",
    "extension_decide",
    "extension_request",
    "find_forwarded",
    "last_day",
    "limit_due",
    "may_decide",
    "regime_id_for",
    "regime_limit_label",
    "statutory_intake",
    "statutory_on_acceptance",
    "statutory_on_decision",
]
