"""The webhook reference page (next to the intake API's docs and OpenAPI schema): every
event type with an example body built by the same code that builds real payloads, and the
headers a receiver checks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from channels.webhooks.models import TEST_EVENT, WebhookEvent
from channels.webhooks.services.events import EventData, deadline_event
from channels.webhooks.transport import body_bytes, signed_headers

_AT = datetime(2026, 11, 23, 9, 12, 3, tzinfo=ZoneInfo("Asia/Shanghai"))

EXAMPLE_CASE = {
    "id": 123, "reference": "TS-2026-000123", "external_id": "app-20261123-0001",
    "channel": "app", "category": "delivery", "stage": "in_progress", "tier": 2,
    "sla_state": "on_time", "received_at": _AT.isoformat(), "handler_id": 7,
    "department_id": 3,
}

_CHANGES = {
    WebhookEvent.CASE_RECEIVED: ("stage", "receive", "", "received"),
    WebhookEvent.TIER_SET: ("tier", "confirm_tier", "0", "2"),
    WebhookEvent.ASSIGNED: ("stage", "assign", "triaged", "assigned"),
    WebhookEvent.STAGE_CHANGED: ("stage", "start", "assigned", "in_progress"),
    WebhookEvent.RESOLVED: ("stage", "resolve", "in_progress", "resolved"),
    WebhookEvent.CLOSED: ("stage", "record_revisit", "revisit", "closed"),
}

DESCRIPTIONS = {
    WebhookEvent.CASE_RECEIVED: _("A complaint was received (any channel)."),
    WebhookEvent.TIER_SET: _("The tier was confirmed at triage or changed later."),
    WebhookEvent.ASSIGNED: _("A handler was assigned (also sent as case.stage_changed)."),
    WebhookEvent.STAGE_CHANGED: _("Any stage change after intake."),
    WebhookEvent.DEADLINE_AT_RISK: _("A running deadline reached its at-risk point."),
    WebhookEvent.DEADLINE_BREACHED: _("A deadline passed unmet."),
    WebhookEvent.RESOLVED: _("The case was resolved (also sent as case.stage_changed)."),
    WebhookEvent.CLOSED: _("The case was closed (also sent as case.stage_changed)."),
    WebhookEvent.COMPENSATION_DECIDED: _(
        "Compensation was approved at once or approved/rejected by a supervisor."),
}


def example_event(event_type: str) -> EventData:
    if event_type in _CHANGES:
        field, name, source, target = _CHANGES[event_type]
        case = {**EXAMPLE_CASE, **({"stage": target} if field == "stage" else {"tier": 2})}
        change = {"field": field, "name": name, "from": source, "to": target,
                  "actor": "zhang.wei"}
        return EventData(type=event_type, key="", occurred_at=_AT,
                         data={"case": case, "change": change})
    if event_type == WebhookEvent.COMPENSATION_DECIDED:
        return EventData(type=event_type, key="", occurred_at=_AT, data={
            "case": EXAMPLE_CASE, "compensation": {
                "id": 41, "kind": "coupon", "amount": "50.00", "status": "approved",
                "decided_by": "li.na", "decided_at": _AT.isoformat()}})
    return deadline_event(
        breached=event_type == WebhookEvent.DEADLINE_BREACHED, deadline_id=901, case_id=123,
        reference="TS-2026-000123", clock="solution", started_at=_AT,
        due_at=_AT + timedelta(days=5), now=_AT + timedelta(days=4))


def example_headers() -> dict[str, str]:
    event = example_event(WebhookEvent.RESOLVED)
    return signed_headers(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                          message_id="msg_2f1b6e0c9a5d4f3e8b7a6c5d4e3f2a1b", timestamp=_AT,
                          body=body_bytes(event.payload()))


class WebhookDocsView(TemplateView):
    template_name = "webhooks/docs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = [
            {"type": value, "label": label, "description": DESCRIPTIONS[value],
             "example": json.dumps(example_event(value).payload(), ensure_ascii=False,
                                   indent=2)}
            for value, label in WebhookEvent.choices
        ]
        context["headers"] = {k.replace("-", "_"): v for k, v in example_headers().items()}
        context["test_event"] = TEST_EVENT
        return context
