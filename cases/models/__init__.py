"""Domain models. Split by area; everything is importable from ``cases.models``."""

from .attachments import CaseAttachment
from .audit import AuditAction, AuditChainHead, AuditEntry
from .calendars import CalendarDay, CalendarYear, ClockBasis, WorkCalendar, WorkingPeriod
from .case import Case, CaseNote, CaseTransition, Compensation
from .collaboration import CollaborationNote, CollaborationRequest, CollaborationTodo
from .config import DeskSettings, RootCause, SlaPolicy
from .deadlines import Alert, CaseDeadline
from .letters import FinalLetter, LetterMode, LetterTemplate
from .macros import Macro, MacroAction
from .notices import Notice, NoticeTemplate, Revisit
from .pauses import CasePause, PauseEnd, PauseReason
from .people import Customer, Department, User
from .relations import CaseLink, CaseMerge, ComplaintGroup, LinkKind
from .retention import ErasureRequest, ErasureStatus, LegalHold, RetentionRule
from .reviews import CaseReview, ReviewVia
from .routing import AgentProfile, RoutingMethod, RoutingRule
from .saved_filters import SavedFilter
from .statutory import CaseRegime, ExtensionRequest, Regime, RegimeExtensionStep

__all__ = [
    "AgentProfile",
    "RoutingMethod",
    "RoutingRule",
    "Alert",
    "CalendarDay",
    "CalendarYear",
    "AuditAction",
    "AuditChainHead",
    "AuditEntry",
    "Case",
    "ClockBasis",
    "CaseAttachment",
    "CaseDeadline",
    "CaseLink",
    "CaseMerge",
    "CaseNote",
    "CaseReview",
    "CasePause",
    "CaseRegime",
    "CaseTransition",
    "CollaborationNote",
    "CollaborationRequest",
    "CollaborationTodo",
    "ComplaintGroup",
    "Compensation",
    "Customer",
    "Department",
    "ErasureRequest",
    "ErasureStatus",
    "LegalHold",
    "LinkKind",
    "DeskSettings",
    "ExtensionRequest",
    "FinalLetter",
    "LetterMode",
    "LetterTemplate",
    "Macro",
    "MacroAction",
    "Notice",
    "PauseEnd",
    "PauseReason",
    "Regime",
    "RegimeExtensionStep",
    "NoticeTemplate",
    "RetentionRule",
    "Revisit",
    "ReviewVia",
    "RootCause",
    "SavedFilter",
    "SlaPolicy",
    "User",
    "WorkCalendar",
    "WorkingPeriod",
]
