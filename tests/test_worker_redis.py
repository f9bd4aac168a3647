"""Real Redis, real worker processes: a notice is delivered exactly once when its worker is
SIGKILLed mid-send and restarted (before and after the gateway accepted it), and when the
redispatch sweep, a late original message and broker redeliveries race.

Needs CELERY_BROKER_URL=redis://... and DATABASE_URL=postgres://... (the worker process must
share the test database, which an in-memory SQLite cannot); otherwise skipped with the reason.
The gateway is a file SMS backend that announces each send and can stall before or after it
accepts the message, so the test can kill the worker at exactly that moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from cases.choices import ContactChannel
from cases.models import Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.notice_backends import FileSmsBackend, key_digest

BROKER = os.environ.get("CELERY_BROKER_URL", "")
DATABASE = os.environ.get("DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent
LEASE = 4  # seconds; short so the test does not wait long for an abandoned send
VISIBILITY = 5  # Redis redelivers an unacknowledged message after this long

pytestmark = [
    pytest.mark.realservices,
    pytest.mark.skipif(not BROKER.startswith("redis"),
                       reason="needs a real Redis: set CELERY_BROKER_URL=redis://host:port/db"),
    pytest.mark.skipif(not DATABASE.startswith("postgres"),
                       reason="the worker process must share the test database: set "
                              "DATABASE_URL=postgres://... (in-memory SQLite cannot be shared)"),
]


class SlowFileSmsBackend(FileSmsBackend):
    """A gateway for this test: writes ``<key>.started`` when a send begins, appends to
    ``deliveries.log`` when it accepts a message, and stalls TEST_SMS_STALL seconds before
    (``TEST_SMS_MODE=before``) or after (``after``) accepting."""

    def send(self, notice: Notice) -> str:
        digest = key_digest(notice.idempotency_key)
        with (self.folder / f"{digest}.started").open("a") as marker:
            marker.write(f"{os.getpid()}\n")
        stall = float(os.environ.get("TEST_SMS_STALL", "0"))
        mode = os.environ.get("TEST_SMS_MODE", "before")
        result = ""
        if mode == "before":
            time.sleep(stall)
        if self.path_for(notice.idempotency_key).exists():
            with (self.folder / "gateway-dedup.log").open("a") as log:
                log.write(f"{digest}\n")  # the outbox relied on gateway dedup: must not happen
        else:
            result = super().send(notice)
            with (self.folder / "deliveries.log").open("a") as log:
                log.write(f"{digest} {os.getpid()}\n")
        if mode == "after":
            time.sleep(stall)
        return result


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Workers:
    """Starts and kills `celery -A complaints_project worker` processes for one test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, *, mode: str, stall: float, concurrency: int = 1,
              queues: str = "notices") -> subprocess.Popen:
        db = connection.settings_dict
        database_url = (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "complaints_project.settings.test",
            "DATABASE_URL": database_url, "CELERY_BROKER_URL": BROKER,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY), "OUTBOX_LEASE_SECONDS": str(LEASE),
            "SMS_BACKEND": "tests.test_worker_redis.SlowFileSmsBackend",
            "NOTICE_FILE_PATH": str(self.folder), "TEST_SMS_MODE": mode,
            "TEST_SMS_STALL": str(stall), "PYTHONPATH": str(ROOT),
        }
        log = self.folder / f"worker{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "complaints_project", "worker",
             "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO",
             f"--hostname=test{len(self.procs)}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", f"--queues={queues}"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the children too
        )
        self.procs.append(proc)
        self.logs.append(log)
        _wait_for(lambda: "ready." in log.read_text() or proc.poll() is not None, 30,
                  "the worker to start")
        assert proc.poll() is None, log.read_text()[-3000:]
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)

    def task_results(self) -> list[str]:
        """The return values of every send_notice_task the workers finished."""
        found = []
        for log in self.logs:
            for line in _lines(log):
                if "cases.tasks.send_notice_task" in line and "succeeded" in line:
                    found.append(line.rsplit(":", 1)[-1].strip().strip("'"))
        return found


@pytest.fixture
def real_broker(settings, transactional_db) -> Iterator[None]:
    import redis

    from complaints_project.celery import app

    redis.Redis.from_url(BROKER).flushdb()
    settings.OUTBOX_LEASE_SECONDS = LEASE
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 0
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous
    redis.Redis.from_url(BROKER).flushdb()


@pytest.fixture
def workers(tmp_path: Path, real_broker) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


def _sms_notice(created_ago: timedelta = timedelta(0)) -> Notice:
    now = timezone.now()
    return Notice.objects.create(
        kind=NoticeKind.FOLLOW_UP, channel=ContactChannel.SMS, recipient="13800138000",
        language="zh-hans", body="您好，关于投诉 TS-2026-000001 的跟进。", context={},
        idempotency_key=f"follow_up:test:{time.monotonic_ns()}", created_at=now - created_ago,
    )


def _status(notice: Notice) -> str:
    return Notice.objects.values_list("status", flat=True).get(pk=notice.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["before", "after"])
def test_a_notice_is_delivered_once_when_its_worker_is_killed_mid_send(workers, mode, tmp_path):
    from cases.services.outbox import outbox_redispatch
    from cases.tasks import send_notice_task

    notice = _sms_notice()
    digest = key_digest(notice.idempotency_key)
    folder = tmp_path / "sms"
    send_notice_task.delay(notice.pk)
    first = workers.start(mode=mode, stall=60)
    # Kill it inside the send: before the gateway accepted the message, or just after.
    if mode == "before":
        _wait_for(lambda: (folder / f"{digest}.started").exists(), 30, "the send to begin")
    else:
        _wait_for(lambda: _lines(folder / "deliveries.log"), 30, "the gateway to accept")
    killed_at = time.monotonic()
    workers.kill(first)
    assert _status(notice) == NoticeStatus.SENDING

    # Once the lease and the broker's visibility timeout have run out, the outbox sweep
    # dispatches its own copy, and the restarted worker gets the original back from Redis.
    time.sleep(max(0.0, killed_at + VISIBILITY + 1 - time.monotonic()))
    assert outbox_redispatch() == 1
    workers.start(mode=mode, stall=0.5, concurrency=2)
    _wait_for(lambda: _status(notice) == NoticeStatus.SENT, 60, "the notice to be sent")
    _wait_for(lambda: len(workers.task_results()) >= 2, 30, "the duplicate message to run")

    assert len(_lines(folder / "deliveries.log")) == 1
    assert not (folder / "gateway-dedup.log").exists()
    results = workers.task_results()
    expected = "sent" if mode == "before" else "already_delivered"
    assert results.count(expected) == 1 and set(results) <= {expected, "skipped"}, results
    stored = Notice.objects.get(pk=notice.pk)
    assert stored.attempts == 2 and stored.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_sweep_and_duplicate_dispatches_racing_deliver_once(workers, tmp_path):
    from cases.services.outbox import notice_dispatch, outbox_redispatch

    notice = _sms_notice(created_ago=timedelta(minutes=5))
    workers.start(mode="before", stall=1.0, concurrency=4)
    notice_dispatch([notice.pk, notice.pk])  # the original message and a redelivery
    assert outbox_redispatch() == 1  # the sweep thinks it was lost
    notice_dispatch([notice.pk])
    _wait_for(lambda: _status(notice) == NoticeStatus.SENT, 30, "the notice to be sent")
    _wait_for(lambda: len(workers.task_results()) >= 4, 30, "every copy to run")

    assert len(_lines(tmp_path / "sms" / "deliveries.log")) == 1
    results = workers.task_results()
    assert results.count("sent") == 1 and results.count("skipped") == 3, results
    assert Notice.objects.get(pk=notice.pk).attempts == 1
