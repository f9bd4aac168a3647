"""Field by field, what anonymisation does to every column that can hold a customer's personal
data, and why every other text column is kept. ``tests/test_retention.py`` fails when a model
of cases, channels (webhooks included) or reporting gains a text, char or JSON column listed in
neither."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class How(StrEnum):
    SCRUB = "scrub"  # free text: the customer's identifiers and detected personal data removed
    CLEAR = "clear"  # nothing in it is needed once anonymised: emptied
    DIGEST = "digest"  # an identifier that must stay unique: replaced by its SHA-256
    JSON = "json"  # every string inside scrubbed


@dataclass(frozen=True)
class Part:
    """Rows of ``model`` reached from a case by ``case_path`` (a lookup giving the case id);
    ``case_path`` None: a small table read whole (its rows belong to no case)."""

    model: str
    case_path: str | None
    fields: dict[str, How]


S, C, D, J = How.SCRUB, How.CLEAR, How.DIGEST, How.JSON

CASE_FIELDS: dict[str, How] = {
    "subject": S, "description": S, "desired_outcome": S, "solution": S,
    "feedback_message": S, "preventive_measures": S, "closing_reason": S, "external_id": S,
    # The address where it happened and the customer's order: they identify the person.
    "location": C, "order_ref": C,
}

PARTS: tuple[Part, ...] = (
    Part("cases.CaseTransition", "case_id", {"note": S}),
    Part("cases.CaseNote", "case_id", {"body": S, "sender": C, "external_message_id": D}),
    Part("cases.Compensation", "case_id", {"description": S, "decision_note": S}),
    Part("cases.CollaborationRequest", "case_id", {
        "ask": S, "plan": S, "dispute_reason": S, "decision": S, "closing_note": S}),
    Part("cases.CollaborationTodo", "request__case_id", {"title": S}),
    Part("cases.CollaborationNote", "request__case_id", {"body": S}),
    Part("cases.Alert", "case_id", {"message": S}),
    Part("cases.Notice", "case_id", {
        "recipient": C, "subject": S, "body": S, "context": J, "last_error": S}),
    Part("cases.Revisit", "case_id", {"comment": S}),
    Part("cases.LegalHold", "case_id", {"reason": S}),
    Part("cases.ComplaintGroup", "cases__id", {"key": S, "matter": S}),
    Part("channels.InboundMessage", "case_id", {"message_id": D, "detail": S}),
    Part("reporting.ImprovementAction", "cases__id", {"action": S, "progress_note": S}),
    # Small tables with no link to the case: read whole, scrubbed of the batch's customers.
    Part("reporting.WeeklyReview", None, {"data": J}),
    Part("cases.SavedFilter", None, {"name": S, "query": S}),
    Part("cases.ErasureRequest", "customer__cases__id", {"note": S, "received_via": S}),
    Part("cases.CasePause", "case_id", {"note": S}),
    Part("cases.CaseReview", "case_id", {"reason": S, "conclusion": S, "new_solution": S}),
    Part("cases.ExtensionRequest", "case_id", {"reason": S, "decision_note": S}),
    Part("cases.FinalLetter", "case_id", {"subject": S, "text": S, "parts": J}),
    # The merged case's closing fields before the merge (restored by an undo).
    Part("cases.CaseMerge", "duplicate_id", {"snapshot": J}),
)

# Case attachments are deleted with their files; the customer row keeps no contact data.
DELETED = {"cases.CaseAttachment": "rows and files deleted"}
CUSTOMER_FIELDS = ("name", "phone", "email", "wechat_openid")

_CODE = "a code or an enumerated value, no personal data"
_STAFF = "staff or configuration data, not a customer's"
KEPT: dict[str, dict[str, str]] = {
    "cases.Case": {"reference": _CODE, "tracking_code": "random, identifies nobody",
                   "company": "the company or product complained about, not a person",
                   "routing_note": "written by routing: rule names and counts"},
    "cases.RoutingRule": {f: _STAFF for f in ("name", "category", "pool_role", "method")},
    "cases.AgentProfile": {"skills": _STAFF},
    "cases.Customer": {"language": _CODE},
    "cases.CaseTransition": {f: _CODE for f in ("field", "name", "source", "target")},
    "cases.Notice": {"language": _CODE, "idempotency_key": "kind, case id and a code",
                     "message_id": "a digest of the idempotency key and our mail domain"},
    "cases.Revisit": {"token_nonce": "random"},
    "cases.Alert": {"kind": _CODE, "link": "a desk or board URL with a note's anchor"},
    "cases.CaseReview": {"previous_stage": _CODE},
    "cases.CaseLink": {"kind": _CODE},
    "cases.ErasureRequest": {"outcome": "written by the service, names cases by reference"},
    "cases.AuditEntry": {
        f: "append-only and hash-chained; never records contact values"
        for f in ("actor_name", "action", "target_type", "target_id", "target_repr", "changes",
                  "detail", "prev_hash", "hash")},
    "cases.AuditChainHead": {"last_hash": "a hash"},
    "cases.User": {f: _STAFF for f in ("password", "username", "first_name", "last_name",
                                       "email", "display_name", "time_zone")},
    "cases.Department": {"code": _STAFF, "name": _STAFF, "name_en": _STAFF},
    "cases.RootCause": {"code": _STAFF, "name": _STAFF, "name_en": _STAFF},
    "cases.WorkCalendar": {f: _STAFF for f in ("code", "name", "name_en", "time_zone")},
    "cases.CalendarDay": {"name": _STAFF, "source": _STAFF},
    "cases.CalendarYear": {"source": _STAFF, "version": _STAFF},
    "cases.PauseReason": {f: _STAFF for f in ("code", "name", "name_en", "clocks")},
    "cases.CasePause": {"clocks": _CODE},
    "cases.Regime": {f: _STAFF for f in ("code", "name", "name_en", "source", "description",
                                         "categories", "escalation", "escalation_en")},
    "cases.Macro": {f: _STAFF for f in ("title", "title_en", "body", "body_en", "categories",
                                        "stages", "action")},
    "cases.LetterTemplate": {f: _STAFF for f in ("name", "subject", "subject_en", "body",
                                                 "body_en", "escalation", "escalation_en",
                                                 "contact", "contact_en")},
    "cases.FinalLetter": {"language": _CODE},
    "cases.CaseRegime": {"regulator_reference": "the regulator's file number, kept to answer "
                                                "the regulator; names no person"},
    "cases.NoticeTemplate": {"subject": _STAFF, "body": _STAFF},
    "channels.Channel": {"code": _STAFF, "name": _STAFF},
    "channels.ApiKey": {"prefix": _STAFF, "key_hash": _STAFF, "label": _STAFF},
    "channels.InboundMessage": {"outcome": _CODE},
    "reporting.KpiTarget": {"code": _CODE},
    "reporting.WeeklyReview": {"time_zone": _CODE},
    "reporting.KpiDaySum": {"dim": _CODE, "key": _CODE},
    "reporting.RootCauseDaySum": {"category": _CODE},
    "reporting.CaseKpiFact": {"data": "KPI counts and codes only"},
    "reporting.KpiSummaryState": {"time_zone": _CODE},
    "webhooks.WebhookEndpoint": {f: _STAFF for f in ("url", "description", "secret", "events")},
    "webhooks.WebhookDelivery": {
        "event_type": _CODE, "event_key": _CODE,
        "payload": "ids, codes and times only: payloads carry no personal data or free text",
        "last_error": "the receiver's answer, no customer data"},
}
