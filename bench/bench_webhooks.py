"""Measure the webhook outbox: recording a sweep's worth of events (one bulk insert), and
sending signed deliveries to a local receiver the way one worker process does.

Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_hook \\
        python bench/bench_webhooks.py [--events 5000] [--sends 500]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")

try:
    from bench import harness
except ImportError:
    import harness  # type: ignore[no-redef]


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--yes", action="store_true",
                        help="allow two endpoints of its own and their deliveries (deleted "
                             "at the end)")
    args = parser.parse_args(argv)
    harness.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from channels.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
    from channels.webhooks.services.delivery import webhook_send
    from channels.webhooks.services.endpoints import secret_generate
    from channels.webhooks.services.events import deadline_event, webhook_events_record
    from tests.webhook_receiver import running_receiver

    harness.require_yes(args.yes, "adds two webhook endpoints of its own and "
                                  f"{2 * args.events:,} deliveries to them")
    with running_receiver() as receiver:
        for n in range(2):
            WebhookEndpoint.objects.create(url=receiver.url, description=f"{MARK} {n}",
                                           secret=secret_generate(),
                                           events=list(WebhookEvent.values))
        now = timezone.now()
        events = [deadline_event(breached=True, deadline_id=n, case_id=None, clock="solution",
                                 reference=f"TS-2026-{n:06d}", started_at=now, due_at=now,
                                 now=now) for n in range(args.events)]
        start = time.perf_counter()
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                ids = webhook_events_record(events)
            took = time.perf_counter() - start
        record_ms = took * 1000
        dispatched = time.perf_counter() - start - took
        print(f"record {args.events} events x 2 endpoints: {len(ids)} deliveries in "
              f"{took * 1000:.0f} ms, {len(queries)} queries; publishing them after commit "
              f"{dispatched * 1000:.0f} ms")

        sample = ids[: args.sends]
        start = time.perf_counter()
        outcomes = [webhook_send(delivery_id=i).status for i in sample]
        took = time.perf_counter() - start
        print(f"send {len(sample)} deliveries (claim, sign, POST, record) in one process: "
              f"{len(sample) / took:.0f}/s; {outcomes.count('sent')} sent; receiver got "
              f"{len(receiver.requests)}")
    mine = WebhookEndpoint.objects.filter(description__startswith=MARK)
    WebhookDelivery.objects.filter(endpoint__in=mine).delete()
    mine.delete()
    return [harness.row(f"webhook record ({args.events:,} events x 2 endpoints)",
                        [record_ms], None, None),
            harness.row("webhook send (claim, sign, POST, record)",
                        [took / max(len(sample), 1) * 1000], None, None)]


MARK = "bench_webhooks"


if __name__ == "__main__":
    # Messages go to an in-process broker: the figure is the database's, not a broker's.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    harness.main_for(run)
