"""Outbound webhooks (issue 19 item 3): every event type recorded in the change's transaction,
signed deliveries verified by a local receiver with ``standardwebhooks``, retries with
backoff, an endpoint switched off after repeated failures, and the claim protocol."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from cases import services
from cases.choices import Stage
from cases.models import Alert
from cases.models.audit import AuditEntry
from cases.services.sweeps import deadline_sweep
from channels.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from channels.webhooks.services.delivery import webhook_redispatch, webhook_send
from channels.webhooks.services.endpoints import endpoint_create, endpoint_update
from tests.factories import CaseFactory
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.django_db

ALL = list(WebhookEvent.values)


@pytest.fixture
def receiver():
    with running_receiver() as server:
        yield server


@pytest.fixture
def endpoint(admin_user, receiver):
    return endpoint_create(actor=admin_user, url=receiver.url, events=ALL,
                           description="CRM", disable_after_failures=3)


def _send_all(now=None):
    return [webhook_send(delivery_id=str(pk), now=now).status
            for pk in WebhookDelivery.objects.order_by("created_at").values_list("id", flat=True)]


def _verified(receiver, secret):
    """Every request the receiver got, checked with the standardwebhooks package."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]


# --- signing ------------------------------------------------------------------------------------
def test_a_delivery_is_signed_and_the_receiver_verifies_it(endpoint, receiver):
    case = CaseFactory()
    delivery = WebhookDelivery.objects.get(event_type=WebhookEvent.CASE_RECEIVED)

    assert webhook_send(delivery_id=str(delivery.pk)).status == "sent"

    [request] = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == f"msg_{delivery.pk.hex}"
    assert payload["type"] == "case.received"
    assert payload["data"]["case"]["reference"] == case.reference
    assert payload["data"]["case"]["stage"] == Stage.RECEIVED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 1, 200)


def test_a_wrong_secret_or_an_altered_body_fails_verification(endpoint, receiver):
    CaseFactory()
    _send_all()
    [request] = receiver.requests
    other = WebhookEndpoint(secret="whsec_" + "A" * 43)
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"case", b"kase"), request.headers)


def test_the_secret_is_in_the_standard_webhooks_form(endpoint):
    assert endpoint.secret.startswith("whsec_")
    Webhook(endpoint.secret)  # decodes


# --- every event type ---------------------------------------------------------------------------
def test_every_event_type_fires_once_with_its_payload(endpoint, receiver):
    closed = CaseFactory(stage=Stage.CLOSED, compensation=Decimal("50"))
    open_case = CaseFactory(stage=Stage.IN_PROGRESS)
    running = open_case.deadlines.filter(stopped_at__isnull=True).earliest("due_at")
    deadline_sweep(now=running.risk_at + (running.due_at - running.risk_at) / 2)  # at risk
    deadline_sweep(now=timezone.now() + timedelta(days=60))  # breached

    by_type: dict[str, list[WebhookDelivery]] = {}
    for d in WebhookDelivery.objects.order_by("created_at"):
        by_type.setdefault(d.event_type, []).append(d)
    assert set(by_type) == set(ALL)

    def one(event, case):
        [d] = [d for d in by_type[event] if d.case_id == case.pk]
        return d.payload

    assert one("case.tier_set", closed)["data"]["change"]["to"] == "3"
    assert one("case.assigned", closed)["data"]["change"]["to"] == Stage.ASSIGNED
    assert one("case.resolved", closed)["data"]["change"]["to"] == Stage.RESOLVED
    assert one("case.closed", closed)["data"]["change"]["to"] == Stage.CLOSED
    compensation = one("case.compensation_decided", closed)["data"]["compensation"]
    assert (compensation["amount"], compensation["status"]) == ("50.00", "approved")
    stages = [d.payload["data"]["change"]["to"] for d in by_type["case.stage_changed"]
              if d.case_id == closed.pk]
    assert stages[0] == Stage.TRIAGED and stages[-1] == Stage.CLOSED
    breached = [d.payload["data"] for d in by_type["case.deadline_breached"]]
    assert {b["case"]["id"] for b in breached} == {open_case.pk}
    assert all(b["deadline"]["state"] == "breached" for b in breached)
    assert by_type["case.deadline_at_risk"]
    customer = closed.customer
    for d in WebhookDelivery.objects.all():
        assert d.payload["type"] == d.event_type
        text = json.dumps(d.payload, ensure_ascii=False)
        for personal in (customer.name, customer.phone, customer.email):  # none leaves
            assert personal not in text

    assert set(_send_all()) == {"sent"}
    payloads = _verified(receiver, endpoint.secret)
    assert sorted(p["type"] for p in payloads) == sorted(
        WebhookDelivery.objects.values_list("event_type", flat=True))


def test_a_repeated_sweep_records_each_deadline_event_once(endpoint):
    CaseFactory(stage=Stage.IN_PROGRESS)
    later = timezone.now() + timedelta(days=60)
    deadline_sweep(now=later)
    first = WebhookDelivery.objects.count()
    deadline_sweep(now=later)
    assert WebhookDelivery.objects.count() == first


def test_a_change_rolled_back_leaves_no_delivery(endpoint, supervisor):
    from django.db import transaction

    from cases.choices import Difficulty, Scope, Urgency

    case = CaseFactory()
    before = WebhookDelivery.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_triage(actor=supervisor, case_id=case.pk, urgency=Urgency.ROUTINE,
                             scope=Scope.INDIVIDUAL, difficulty=Difficulty.FRONTLINE, tier=3)
        assert WebhookDelivery.objects.count() > before  # written in the same transaction
        raise RuntimeError("the request fails after the change")
    assert WebhookDelivery.objects.count() == before


def test_deliveries_are_sent_after_commit(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = CaseFactory()
    [request] = receiver.requests
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["data"]["case"][
        "id"] == case.pk


# --- who gets what ------------------------------------------------------------------------------
def test_no_delivery_for_an_inactive_or_unsubscribed_endpoint(admin_user, receiver):
    endpoint_create(actor=admin_user, url=receiver.url, events=ALL, is_active=False)
    resolved_only = endpoint_create(actor=admin_user, url=receiver.url,
                                    events=["case.resolved"])
    CaseFactory(stage=Stage.IN_PROGRESS)
    assert not WebhookDelivery.objects.exists()
    CaseFactory(stage=Stage.RESOLVED)
    assert list(WebhookDelivery.objects.values_list("endpoint", "event_type")) == [
        (resolved_only.pk, "case.resolved")]


# --- retries and disabling ----------------------------------------------------------------------
def test_a_failed_attempt_is_retried_later_with_backoff(endpoint, receiver, settings):
    settings.OUTBOX_BACKOFF_SECONDS = 30
    CaseFactory()
    receiver.codes = [500]
    now = timezone.now()
    [outcome] = [webhook_send(delivery_id=str(d.pk), now=now) for d in
                 WebhookDelivery.objects.all()]
    assert outcome.status == "retry" and 30 <= outcome.retry_in <= 36
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("queued", 500, 1)
    assert "HTTP 500" in delivery.last_error
    assert webhook_send(delivery_id=str(delivery.pk), now=now).status == "skipped"  # not due

    later = now + timedelta(seconds=outcome.retry_in + 1)
    assert webhook_send(delivery_id=str(delivery.pk), now=later).status == "sent"
    assert receiver.ids() == [f"msg_{delivery.pk.hex}"] * 2  # same webhook-id each attempt
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_backoff_doubles(endpoint, receiver, settings):
    settings.OUTBOX_BACKOFF_SECONDS = 10
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 10_000
    CaseFactory()
    receiver.codes = [503] * 3
    delivery = WebhookDelivery.objects.get()
    now, delays = timezone.now(), []
    for _ in range(3):
        outcome = webhook_send(delivery_id=str(delivery.pk), now=now)
        delays.append(outcome.retry_in)
        now += timedelta(seconds=outcome.retry_in + 1)
    assert 10 <= delays[0] <= 12 and 20 <= delays[1] <= 24 and 40 <= delays[2] <= 48


def test_a_delivery_fails_after_the_last_attempt(endpoint, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    endpoint.disable_after_failures = 100
    endpoint.save()
    CaseFactory()
    receiver.codes = [500, 500]
    delivery = WebhookDelivery.objects.get()
    webhook_send(delivery_id=str(delivery.pk))
    assert webhook_send(delivery_id=str(delivery.pk),
                        now=timezone.now() + timedelta(hours=2)).status == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_an_endpoint_is_switched_off_after_consecutive_failures(
    endpoint, receiver, admin_user, settings,
):
    receiver.codes = [500] * 10
    CaseFactory(stage=Stage.ASSIGNED)  # received, tier set, stage changed x2, assigned
    statuses = _send_all()
    assert statuses[:3] == ["retry"] * 3
    assert statuses[3:] == ["held"] * (len(statuses) - 3)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    alert = Alert.objects.get(kind="webhook_disabled")
    assert alert.recipient == admin_user and "CRM" in alert.message
    entry = AuditEntry.objects.get(action="webhook_disabled")
    assert (entry.target_type, entry.target_id) == ("webhooks.WebhookEndpoint", str(endpoint.pk))
    assert entry.detail["consecutive_failures"] == 3

    # Repaired and switched on again: held deliveries are queued, the failures forgotten.
    receiver.codes = []
    endpoint_update(actor=admin_user, endpoint_id=endpoint.pk, url=endpoint.url,
                    events=endpoint.events, description=endpoint.description, is_active=True,
                    disable_after_failures=3)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0
    assert not WebhookDelivery.objects.filter(status=DeliveryStatus.HELD).exists()
    later = timezone.now() + timedelta(hours=1)
    assert set(_send_all(now=later)) == {"sent"}


def test_a_success_resets_the_failure_count(endpoint, receiver):
    receiver.codes = [500, 500]
    CaseFactory(stage=Stage.TRIAGED)  # received, tier set, stage changed
    _send_all()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


def test_a_slow_receiver_times_out(endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.stall = 1.5
    CaseFactory()
    outcome = webhook_send(delivery_id=str(WebhookDelivery.objects.get().pk))
    assert outcome.status == "retry"
    delivery = WebhookDelivery.objects.get()
    assert delivery.response_code is None and "timed out" in delivery.last_error.lower()


def test_a_redirect_is_not_followed(endpoint, receiver):
    receiver.codes = [302]
    CaseFactory()
    assert webhook_send(delivery_id=str(WebhookDelivery.objects.get().pk)).status == "retry"
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().response_code == 302


# --- the claim protocol (SQLite) ----------------------------------------------------------------
def test_a_delivery_in_flight_is_not_sent_by_a_second_message(endpoint, receiver, settings):
    """A worker killed mid-send leaves the row "sending": a duplicate message finds it
    leased; after the lease the sweep re-dispatches it and it goes out once more with the same
    webhook-id; a delivered row is never sent again."""
    settings.WEBHOOK_LEASE_SECONDS = 120
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 60
    CaseFactory()
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    # What a SIGKILLed worker leaves: claimed (attempt 1), never recorded.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, sending_started_at=now)

    assert webhook_send(delivery_id=str(delivery.pk), now=now).reason == "leased"
    assert webhook_redispatch(now=now) == 0
    later = now + timedelta(seconds=121)
    assert webhook_redispatch(now=later) == 1
    assert webhook_send(delivery_id=str(delivery.pk), now=later).status == "sent"
    assert webhook_send(delivery_id=str(delivery.pk), now=later).reason == "sent"
    assert receiver.ids() == [f"msg_{delivery.pk.hex}"]
    delivery.refresh_from_db()
    assert delivery.attempts == 2


def test_the_sweep_redispatches_a_queued_delivery_whose_message_was_lost(endpoint, settings):
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 60
    CaseFactory()
    now = timezone.now()
    assert webhook_redispatch(now=now) == 0
    assert webhook_redispatch(now=now + timedelta(seconds=61)) == 1


def test_the_outbox_sweep_task_includes_webhooks(endpoint, settings):
    from cases.tasks import outbox_redispatch_task

    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 0
    CaseFactory()
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert outbox_redispatch_task() >= 1


def test_a_message_for_an_unknown_delivery_does_nothing(db):
    import uuid

    assert webhook_send(delivery_id=str(uuid.uuid4())).reason == "missing"


def test_for_a_receiver_that_cannot_drop_repeats_an_interrupted_send_is_held(
    admin_user, receiver, settings,
):
    """The strict mode: a delivery abandoned mid-send is never sent again blindly; the sweep
    leaves it; a person sends it again or marks it delivered."""
    from channels.webhooks.services.endpoints import delivery_mark_delivered, delivery_resend

    settings.WEBHOOK_LEASE_SECONDS = 120
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 60
    endpoint_create(actor=admin_user, url=receiver.url, events=["case.received"],
                    receiver_dedupes=False)
    CaseFactory()
    CaseFactory()
    first, second = WebhookDelivery.objects.order_by("created_at")
    now = timezone.now()
    WebhookDelivery.objects.update(status=DeliveryStatus.SENDING, attempts=1,
                                   sending_started_at=now)
    later = now + timedelta(seconds=121)
    assert webhook_redispatch(now=later) == 2
    assert webhook_send(delivery_id=str(first.pk), now=later).status == "uncertain"
    assert webhook_send(delivery_id=str(second.pk), now=later).status == "uncertain"
    assert webhook_redispatch(now=later + timedelta(hours=1)) == 0
    assert receiver.requests == []

    delivery_mark_delivered(actor=admin_user, delivery_id=str(first.pk))
    delivery_resend(actor=admin_user, delivery_id=str(second.pk))
    assert webhook_send(delivery_id=str(second.pk), now=later).status == "sent"
    assert receiver.ids() == [second.message_id]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_recording_reads_the_endpoints_from_the_cache_and_sees_changes_at_once(
    admin_user, receiver, django_assert_num_queries,
):
    from channels.webhooks.services.events import EventData, webhook_events_record

    def event(n):
        return EventData(type="case.closed", key=f"cache:{n}", data={})

    webhook_events_record([event(0)])  # fills the cache
    with django_assert_num_queries(0):  # no endpoint, cached: a case change costs nothing
        webhook_events_record([event(1)])
    endpoint = endpoint_create(actor=admin_user, url=receiver.url, events=["case.closed"])
    with django_assert_num_queries(2):  # the endpoints again (cache dropped), the insert
        webhook_events_record([event(2)])
    endpoint_update(actor=admin_user, endpoint_id=endpoint.pk, url=receiver.url,
                    events=["case.closed"], description="", is_active=False,
                    disable_after_failures=10)
    webhook_events_record([event(3)])
    assert list(WebhookDelivery.objects.values_list("event_key", flat=True)) == ["cache:2"]
