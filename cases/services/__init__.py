"""Domain actions: every state change goes through these, whoever calls them."""

from .alerts import alerts_mark_read
from .compensation import CompensationOffer, compensation_decide, compensation_propose
from .errors import (
    ActionForbidden,
    ActionNotAllowed,
    CaseBusy,
    ConflictError,
    DomainError,
    InvalidInput,
)
from .intake import CustomerData, IntakeData, IntakeResult, case_intake
from .lifecycle import (
    case_add_note,
    case_assign,
    case_complete_follow_up,
    case_give_feedback,
    case_invalidate,
    case_record_contact,
    case_record_revisit,
    case_reopen,
    case_resolve,
    case_resume,
    case_retier,
    case_start,
    case_transfer_ownership,
    case_triage,
    case_wait_for_department,
    suggest_tier,
)
from .messages import CustomerMessageResult, case_add_customer_message
from .preferences import user_preferences_update
from .saved_filters import saved_filter_create, saved_filter_delete, saved_filter_rename

__all__ = [
    "ActionForbidden",
    "ActionNotAllowed",
    "CaseBusy",
    "CompensationOffer",
    "ConflictError",
    "CustomerData",
    "CustomerMessageResult",
    "DomainError",
    "IntakeData",
    "IntakeResult",
    "InvalidInput",
    "alerts_mark_read",
    "case_add_customer_message",
    "case_add_note",
    "case_assign",
    "case_complete_follow_up",
    "case_give_feedback",
    "case_intake",
    "case_invalidate",
    "case_record_contact",
    "case_record_revisit",
    "case_reopen",
    "case_resolve",
    "case_resume",
    "case_retier",
    "case_start",
    "case_transfer_ownership",
    "case_triage",
    "case_wait_for_department",
    "compensation_decide",
    "compensation_propose",
    "saved_filter_create",
    "saved_filter_delete",
    "saved_filter_rename",
    "suggest_tier",
    "user_preferences_update",
]
