"""Kill the notice worker mid-send, over and over, and count lost and doubled deliveries.

Each trial queues a mixed batch of notices (e-mail, SMS, WeChat), starts a real Celery worker
on Redis, SIGKILLs it at a random moment while it is sending (before or after the transport
accepted a message), and runs the redispatch sweep. At the end a worker runs undisturbed and
the sweep repeats until every notice is sent, failed or uncertain. The transports record every
acceptance durably: e-mail through a Django mail backend that appends the Message-ID to a log
(and, like SMTP, cannot be asked afterwards); SMS and WeChat through the file gateways, which
answer ``was_delivered``. Prints per channel: queued, delivered once, delivered twice
(customer-visible doubles), lost, held uncertain. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_email \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/10 \\
        python bench/bench_notice_kills.py [--trials 50] [--batch 6] [--stall 0.6] [--seed 17]

Use a Redis db number of your own and a migrated database: the script needs ``--yes`` and
leaves nothing behind (its notices are deleted at the end). Figures: README, "Exactly-once
notices".
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")

LEASE = 4  # seconds: a killed send is swept again soon (stalls stay well below it)


def _stall() -> None:
    time.sleep(random.uniform(0, float(os.environ.get("BENCH_STALL", "0"))))  # noqa: S311


def _record(path: Path, line: str) -> None:
    """Append one line and fsync: the acceptance survives the SIGKILL that follows."""
    with path.open("a") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def _folder() -> Path:
    return Path(os.environ["NOTICE_FILE_PATH"])


class RecordingEmailBackend(BaseEmailBackend):
    """A mail server for the bench: stalls, accepts (appends the Message-ID to
    ``email-deliveries.log``), stalls again. Like SMTP it has no ``was_delivered``."""

    def send_messages(self, email_messages: list) -> int:
        for message in email_messages:
            _stall()
            _record(_folder() / "email-deliveries.log", message.extra_headers["Message-ID"])
            _stall()
        return len(email_messages)


def _gateway(base: type) -> type:
    class Recording(base):  # type: ignore[misc, valid-type]
        """The file gateway with stalls around the acceptance; a send of a key it already
        holds is logged as a double (a gateway without dedup would have delivered it)."""

        def send(self, notice) -> str:  # noqa: ANN001
            _stall()
            if self.was_delivered(notice.idempotency_key):
                _record(self.folder / "doubles.log", notice.idempotency_key)
            result = super().send(notice)
            _stall()
            return result

    return Recording


def _backends() -> tuple[type, type]:
    from cases.notice_backends import FileSmsBackend, FileWeChatBackend

    return _gateway(FileSmsBackend), _gateway(FileWeChatBackend)


def __getattr__(name: str) -> type:  # import_string("bench.bench_notice_kills.RecordingSms")
    if name in ("RecordingSmsBackend", "RecordingWeChatBackend"):
        sms, wechat = _backends()
        return sms if name == "RecordingSmsBackend" else wechat
    raise AttributeError(name)


class Worker:
    def __init__(self, env: dict[str, str], folder: Path, queues: str) -> None:
        self.env, self.folder, self.queues = env, folder, queues
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        log = self.folder / f"worker{self.starts}.log"
        self.starts += 1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "complaints_project", "worker",
             "--pool=prefork", "--concurrency=2", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--queues={self.queues}",
             f"--hostname=benchkill{self.starts}@%h"],
            cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the SIGKILL reaches the children
        )
        _wait(lambda: "ready." in log.read_text() or self.proc.poll() is not None, 60)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run(argv: list[str]) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--batch", type=int, default=6, help="notices queued per trial")
    parser.add_argument("--stall", type=float, default=0.6,
                        help="longest pause before and after each acceptance (seconds)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--yes", action="store_true",
                        help="allow queuing its own notices (deleted at the end)")
    args = parser.parse_args(argv)
    broker, database = os.environ.get("CELERY_BROKER_URL", ""), os.environ.get("DATABASE_URL", "")
    if not broker.startswith("redis") or not database.startswith("postgres"):
        raise SystemExit("bench_notice_kills needs CELERY_BROKER_URL=redis://... and "
                         "DATABASE_URL=postgres://... (a Redis db number of your own)")
    if not args.yes:
        raise SystemExit("This benchmark queues notices of its own (deleted at the end) and "
                         "starts and kills Celery workers. Nothing was changed; pass --yes.")
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-kills-"))
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "NOTICE_FILE_PATH": str(folder),
        "EMAIL_BACKEND": "bench.bench_notice_kills.RecordingEmailBackend",
        "SMS_BACKEND": "bench.bench_notice_kills.RecordingSmsBackend",
        "WECHAT_BACKEND": "bench.bench_notice_kills.RecordingWeChatBackend",
        "OUTBOX_LEASE_SECONDS": str(LEASE), "OUTBOX_REDISPATCH_AFTER_SECONDS": "3",
        "CELERY_VISIBILITY_TIMEOUT": str(LEASE + 2), "BENCH_STALL": str(args.stall),
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
    }
    os.environ.update(env)
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # this process only: the table, not sweep logs

    import django

    django.setup()
    from django.utils import timezone

    from cases.choices import ContactChannel
    from cases.models import Notice
    from cases.models.notices import NoticeKind, NoticeStatus
    from cases.notice_backends import key_digest, message_id_for
    from cases.services.outbox import notice_dispatch, outbox_redispatch
    from complaints_project.celery import app

    routes = app.conf.task_routes or {}
    queues = {app.conf.task_default_queue} | {
        r["queue"] for r in (routes.values() if isinstance(routes, dict) else [])
        if isinstance(r, dict) and "queue" in r
    }
    worker = Worker(env, folder, ",".join(sorted(queues)))
    run = f"{int(time.time())}"
    channels = [ContactChannel.EMAIL, ContactChannel.SMS, ContactChannel.WECHAT]
    recipients = {ContactChannel.EMAIL: "customer@example.com",
                  ContactChannel.SMS: "13800138000", ContactChannel.WECHAT: "wx-openid-bench"}
    ids: list[int] = []
    kills_in_send = 0
    started = time.monotonic()
    for trial in range(args.trials):
        mix = [channels[i % 3] for i in range(args.batch)]
        rng.shuffle(mix)  # which channel is in flight when the kill comes is left to chance
        Notice.objects.bulk_create([
            Notice(kind=NoticeKind.FOLLOW_UP, channel=channel, recipient=recipients[channel],
                   language="zh-hans", subject="Bench", body="关于投诉的跟进。", context={},
                   idempotency_key=f"bench-kill:{run}:{trial}:{i}", created_at=timezone.now())
            for i, channel in enumerate(mix)
        ])
        batch = Notice.objects.filter(idempotency_key__startswith=f"bench-kill:{run}:{trial}:")
        batch_ids = list(batch.order_by("id").values_list("id", flat=True))
        ids += batch_ids
        notice_dispatch(batch_ids)
        worker.start()
        # Kill at a random moment once a send is under way: before, during or after acceptance.
        _wait(batch.filter(status=NoticeStatus.SENDING).exists, 20)
        time.sleep(rng.uniform(0, 2 * args.stall))
        kills_in_send += Notice.objects.filter(id__in=ids, status=NoticeStatus.SENDING).exists()
        worker.kill()
        outbox_redispatch()  # the periodic sweep, as beat would run it

    # Settle: one undisturbed worker, the sweep until every notice has an outcome.
    worker.start()
    settled = {NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.UNCERTAIN}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        open_ = Notice.objects.filter(id__in=ids).exclude(status__in=settled).count()
        if not open_:
            break
        outbox_redispatch()
        time.sleep(1)
    worker.kill()
    elapsed = time.monotonic() - started

    email_log = collections.Counter(
        (folder / "email-deliveries.log").read_text().splitlines()
        if (folder / "email-deliveries.log").exists() else []
    )
    rows = collections.defaultdict(collections.Counter)
    for notice in Notice.objects.filter(id__in=ids):
        key = notice.idempotency_key
        if notice.channel == ContactChannel.EMAIL:
            count = email_log[message_id_for(key)]
        else:
            sub = folder / ("wechat" if notice.channel == ContactChannel.WECHAT else "sms")
            doubles = sub / "doubles.log"
            count = int((sub / f"{key_digest(key)}.json").exists()) + (
                doubles.read_text().splitlines().count(key) if doubles.exists() else 0
            )
        row = rows[notice.channel]
        row["queued"] += 1
        row["delivered once"] += count == 1 and notice.status != NoticeStatus.UNCERTAIN
        row["delivered twice"] += count >= 2
        row["lost"] += count == 0 and notice.status != NoticeStatus.UNCERTAIN
        row["held uncertain"] += notice.status == NoticeStatus.UNCERTAIN
        row["(uncertain, in fact delivered)"] += notice.status == NoticeStatus.UNCERTAIN and count
        row["not settled"] += notice.status not in settled
    print(f"{args.trials} SIGKILL trials ({kills_in_send} with a send in flight), "
          f"{len(ids)} notices, {worker.starts} worker starts, {elapsed:.0f} s")
    columns = ["queued", "delivered once", "delivered twice", "lost", "held uncertain",
               "(uncertain, in fact delivered)", "not settled"]
    print(f"{'channel':<8}" + "".join(f"{c:>32}" if c.startswith("(") else f"{c:>16}"
                                      for c in columns))
    for channel in sorted(rows):
        print(f"{channel:<8}" + "".join(
            f"{rows[channel][c]:>32}" if c.startswith("(") else f"{rows[channel][c]:>16}"
            for c in columns))
    Notice.objects.filter(id__in=ids).delete()
    lost = sum(rows[c]["lost"] for c in rows)
    doubled = sum(rows[c]["delivered twice"] for c in rows)
    return [{"name": f"notice worker kills ({args.trials} trials)", "median_ms": None,
             "p95_ms": None, "queries": None, "target_ms": None,
             "note": f"{len(ids)} notices: {lost} lost, {doubled} delivered twice"}]


if __name__ == "__main__":
    try:
        for line in run(sys.argv[1:]):
            print(line["name"], line["note"])
    except SystemExit as stop:
        print(stop.code, file=sys.stderr)
        sys.exit(2)
