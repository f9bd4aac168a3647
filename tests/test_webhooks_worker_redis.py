"""Real Redis, real Celery worker processes, SIGKILL during deliveries: none is lost, and
none is sent twice by the outbox. The only exception is a delivery a worker was killed in
the middle of (the receiver got it, the outcome was not recorded): for an endpoint whose
receiver drops repeats (the Standard Webhooks contract) it goes out again with the same
``webhook-id``; for one that does not, it is held "uncertain" for a person and never sent
twice.

Needs CELERY_BROKER_URL=redis://... and DATABASE_URL=postgres://... (the workers share the
test database); otherwise skipped with the reason, as tests/test_worker_redis.py is.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from channels.webhooks.models import DeliveryStatus, WebhookDelivery
from channels.webhooks.services.delivery import webhook_redispatch
from channels.webhooks.services.endpoints import endpoint_create
from channels.webhooks.services.events import EventData, webhook_events_record
from tests.test_worker_redis import (  # noqa: F401 - real_broker is a fixture
    BROKER,
    DATABASE,
    LEASE,
    Workers,
    _wait_for,
    real_broker,
)
from tests.webhook_receiver import running_receiver

pytestmark = [
    pytest.mark.realservices,
    pytest.mark.skipif(not BROKER.startswith("redis"),
                       reason="needs a real Redis: set CELERY_BROKER_URL=redis://host:port/db"),
    pytest.mark.skipif(not DATABASE.startswith("postgres"),
                       reason="the worker processes must share the test database: set "
                              "DATABASE_URL=postgres://..."),
]

DELIVERIES = 24
KILLS = 2
CONCURRENCY = 2


@pytest.fixture
def workers(tmp_path, request, monkeypatch, settings):
    request.getfixturevalue("real_broker")  # flushes this test's Redis db, eager mode off
    monkeypatch.setenv("WEBHOOK_LEASE_SECONDS", str(LEASE))
    settings.WEBHOOK_LEASE_SECONDS = LEASE
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("receiver_dedupes", [True, False], ids=["dedupes", "strict"])
def test_killing_the_worker_during_deliveries_loses_none_and_sends_none_twice(
    workers, admin_user, receiver_dedupes,
):
    with running_receiver() as receiver:
        receiver.stall = 0.3  # each answer takes a while: kills land inside sends
        endpoint = endpoint_create(actor=admin_user, url=receiver.url,
                                   events=["case.stage_changed"],
                                   receiver_dedupes=receiver_dedupes)
        with transaction.atomic():  # dispatched to Redis on commit
            webhook_events_record(
                EventData(type="case.stage_changed", key=f"kill-test:{n}", data={"n": n})
                for n in range(DELIVERIES))
        expected = {d.message_id for d in WebhookDelivery.objects.all()}

        worker = workers.start(mode="before", stall=0, concurrency=CONCURRENCY)
        in_flight_at_kill: set[str] = set()
        for kill in range(KILLS):
            _wait_for(lambda k=kill: len(receiver.requests) >= (k + 1) * DELIVERIES // 3, 60,
                      "deliveries to arrive")
            workers.kill(worker)  # SIGKILL the whole process group, mid-request
            in_flight_at_kill |= set(WebhookDelivery.objects.filter(
                status=DeliveryStatus.SENDING).values_list("id", flat=True))
            worker = workers.start(mode="before", stall=0, concurrency=CONCURRENCY)

        # The beat's outbox sweep, run here every second: lost messages and expired leases.
        deadline = time.monotonic() + 120
        settled = (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN)
        while (WebhookDelivery.objects.exclude(status__in=settled).exists()
               and time.monotonic() < deadline):
            webhook_redispatch()
            time.sleep(1)

        statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        received = Counter(receiver.ids())
        for request in receiver.requests:  # every request is signed correctly
            Webhook(endpoint.secret).verify(request.body, request.headers)

    killed_mid_send = {f"msg_{pk.hex}" for pk in in_flight_at_kill}
    uncertain = {f"msg_{pk.hex}" for pk in WebhookDelivery.objects.filter(
        status=DeliveryStatus.UNCERTAIN).values_list("id", flat=True)}
    repeated = {msg for msg, times in received.items() if times > 1}
    assert statuses[DeliveryStatus.SENT] + len(uncertain) == DELIVERIES, statuses
    assert set(received) == expected  # none lost: every delivery reached the receiver
    assert uncertain <= killed_mid_send  # held only if its worker died mid-send
    if receiver_dedupes:
        # Sent twice (same webhook-id) only if it was in flight in a killed worker.
        assert not uncertain
        assert repeated <= killed_mid_send, (repeated, killed_mid_send)
        assert max(received.values()) <= 2
    else:
        assert not repeated  # never twice on the wire
    print(f"\n{DELIVERIES} deliveries, {KILLS} SIGKILLs, receiver_dedupes={receiver_dedupes}: "
          f"{sum(received.values())} requests, {len(repeated)} repeated (same webhook-id), "
          f"{len(uncertain)} held uncertain, 0 lost")
