"""Turning case changes into webhook deliveries, in the caller's transaction.

Called from the places where the changes are made: ``cases.services.transitions`` (every
logged stage or tier change, and the intake's "receive"), the compensation services and the
deadline sweep (one bulk insert per sweep batch). Each call costs one insert when an active
endpoint subscribes, and no query otherwise (the subscriptions are cached: see
``subscriptions``); sending happens after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from channels.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from channels.webhooks.services.subscriptions import active_subscriptions

if TYPE_CHECKING:
    from cases.models import Case, CaseTransition, Compensation


@dataclass(frozen=True)
class EventData:
    type: str
    key: str  # unique per event: with the endpoint, it makes a delivery unique
    data: dict[str, Any]
    case_id: int | None = None
    occurred_at: datetime = field(default_factory=timezone.now)

    def payload(self) -> dict[str, Any]:
        """The Standard Webhooks body: type, timestamp and data."""
        return {"type": self.type, "timestamp": self.occurred_at.isoformat(), "data": self.data}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def case_data(case: Case) -> dict[str, Any]:
    """What every case event says about the case. No personal data of the complainant: a
    receiver that needs it asks through an authenticated API."""
    return {
        "id": case.pk, "reference": case.reference, "external_id": case.external_id,
        "channel": case.channel, "category": case.category, "stage": case.stage,
        "tier": int(case.tier), "sla_state": case.sla_state,
        "received_at": _iso(case.received_at), "handler_id": case.handler_id,
        "department_id": case.department_id,
    }


def _transition_types(row: CaseTransition) -> list[str]:
    if row.name == "receive":
        return [WebhookEvent.CASE_RECEIVED]
    if row.field == "tier":
        return [WebhookEvent.TIER_SET]
    if row.field != "stage":
        return []  # ownership transfers, collaboration steps: not webhook events
    types = [WebhookEvent.STAGE_CHANGED]
    if row.name == "assign":
        types.append(WebhookEvent.ASSIGNED)
    if row.name == "resolve":
        types.append(WebhookEvent.RESOLVED)
    if row.target == "closed":
        types.append(WebhookEvent.CLOSED)
    return types


def transition_events(case: Case, row: CaseTransition) -> list[EventData]:
    """The events one logged change of ``case`` makes (none for changes no one subscribes
    to by type, e.g. an ownership transfer)."""
    types = _transition_types(row)
    if not types:
        return []
    data = {
        "case": case_data(case),
        # No note: it is free text and may quote the complainant's personal data.
        "change": {"field": row.field, "name": row.name, "from": row.source, "to": row.target,
                   "actor": row.actor.get_username() if row.actor else None},
    }
    return [EventData(type=t, key=f"{t}:transition:{row.pk}", data=data, case_id=case.pk,
                      occurred_at=row.at) for t in types]


def compensation_event(case: Case, compensation: Compensation) -> EventData:
    return EventData(
        type=WebhookEvent.COMPENSATION_DECIDED,
        key=f"{WebhookEvent.COMPENSATION_DECIDED}:compensation:{compensation.pk}",
        case_id=case.pk, occurred_at=compensation.decided_at or timezone.now(),
        data={"case": case_data(case), "compensation": {
            "id": compensation.pk, "kind": compensation.kind,
            "amount": str(compensation.amount), "status": compensation.status,
            "decided_by": (compensation.decided_by.get_username()
                           if compensation.decided_by else None),
            "decided_at": _iso(compensation.decided_at)}},
    )


def deadline_event(
    *, breached: bool, deadline_id: int, case_id: int, reference: str, clock: str,
    started_at: datetime, due_at: datetime, now: datetime,
) -> EventData:
    """A deadline sweep's event, built from the values the sweep already read (no case
    loaded). One per deadline and clock cycle: a restarted clock can breach again."""
    kind = WebhookEvent.DEADLINE_BREACHED if breached else WebhookEvent.DEADLINE_AT_RISK
    return EventData(
        type=kind, key=f"{kind}:deadline:{deadline_id}:{int(started_at.timestamp())}",
        case_id=case_id, occurred_at=now,
        data={"case": {"id": case_id, "reference": reference},
              "deadline": {"id": deadline_id, "clock": clock, "started_at": _iso(started_at),
                           "due_at": _iso(due_at),
                           "state": "breached" if breached else "at_risk"}},
    )


def webhook_events_record(events: Iterable[EventData]) -> list[str]:
    """Write one delivery per event and active endpoint subscribed to its type, in the
    caller's transaction (so a rolled-back change sends nothing), and dispatch them after
    commit. An event recorded twice (a retried sweep) is inserted once. Returns the ids of
    the deliveries written."""
    subscriptions = active_subscriptions()
    if not subscriptions:  # nothing to build (a sweep's thousands of events)
        return []
    events = list(events)
    if not events:
        return []
    rows = [
        WebhookDelivery(endpoint_id=endpoint_id, event_type=event.type, event_key=event.key,
                        case_id=event.case_id, payload=event.payload(),
                        created_at=event.occurred_at, status=DeliveryStatus.QUEUED)
        for event in events for endpoint_id, types in subscriptions if event.type in types
    ]
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    # Ids are made here (uuid4); one that lost to an existing row is simply not found by
    # the worker's claim, which then does nothing.
    ids = [str(row.pk) for row in rows]
    webhook_dispatch_on_commit(ids)
    return ids


def webhook_dispatch(delivery_ids: Iterable[str]) -> int:
    """Hand deliveries to the workers. A broker outage does not fail the caller: the rows
    stay queued and the outbox redispatch sweep sends them later."""
    from kombu.exceptions import OperationalError

    from channels.webhooks.tasks import send_webhook_task

    published = 0
    for delivery_id in delivery_ids:
        try:
            send_webhook_task.delay(delivery_id)
        except (OperationalError, ConnectionError, OSError):
            break
        published += 1
    return published


def webhook_dispatch_on_commit(delivery_ids: list[str]) -> None:
    if delivery_ids:
        ids = list(delivery_ids)
        transaction.on_commit(lambda: webhook_dispatch(ids))


def webhook_case_changed(case: Case, row: CaseTransition) -> None:
    """The hook in ``cases.services.transitions``: one logged change, its events."""
    webhook_events_record(transition_events(case, row))


def webhook_compensation_decided(case: Case, compensation: Compensation) -> None:
    webhook_events_record([compensation_event(case, compensation)])
