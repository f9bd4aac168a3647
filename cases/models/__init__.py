"""Domain models. Split by area; everything is importable from ``cases.models``."""

from .audit import AuditAction, AuditChainHead, AuditEntry
from .case import Case, CaseAttachment, CaseNote, CaseTransition, Compensation, ComplaintGroup
from .collaboration import CollaborationNote, CollaborationRequest, CollaborationTodo
from .config import DeskSettings, RootCause, SlaPolicy
from .deadlines import Alert, CaseDeadline
from .notices import Notice, NoticeTemplate, Revisit
from .people import Customer, Department, User
from .saved_filters import SavedFilter

__all__ = [
    "Alert",
    "AuditAction",
    "AuditChainHead",
    "AuditEntry",
    "Case",
    "CaseAttachment",
    "CaseDeadline",
    "CaseNote",
    "CaseTransition",
    "CollaborationNote",
    "CollaborationRequest",
    "CollaborationTodo",
    "ComplaintGroup",
    "Compensation",
    "Customer",
    "Department",
    "DeskSettings",
    "Notice",
    "NoticeTemplate",
    "Revisit",
    "RootCause",
    "SavedFilter",
    "SlaPolicy",
    "User",
]
