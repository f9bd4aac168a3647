"""Measure notice sending throughput with Django's file email backend.

Queues N email notices in the outbox, then sends them through ``notice_send`` (claim under
lock, deliver, record) in one process, which is what one worker process does per message, and
prints notices per second. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_background \\
        python bench/bench_notices.py [--notices 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--yes", action="store_true",
                        help="allow queuing (and then deleting) its own notices")
    args = parser.parse_args(argv)
    mail_dir = tempfile.mkdtemp(prefix="bench-mail-")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    os.environ["EMAIL_FILE_PATH"] = mail_dir

    harness.setup()
    from django.conf import settings
    from django.utils import timezone

    from cases.choices import ContactChannel
    from cases.models import Notice
    from cases.models.notices import NoticeKind, NoticeStatus
    from cases.services.outbox import notice_send

    harness.require_yes(args.yes, f"queues {args.notices:,} e-mail notices of its own (sent to "
                                  "files, deleted at the end)")
    run = int(time.time())
    now = timezone.now()
    Notice.objects.bulk_create([
        Notice(kind=NoticeKind.FEEDBACK, channel=ContactChannel.EMAIL,
               recipient=f"customer{n}@example.com", language="zh-hans",
               subject=f"您的投诉 TS-2026-{n:06d} 处理结果",
               body="王芳您好：\n\n关于您的投诉，处理结果如下：已补发商品，预计明日送达。\n" * 3,
               idempotency_key=f"bench:{run}:{n}", created_at=now)
        for n in range(args.notices)
    ], batch_size=1000)
    ids = list(Notice.objects.filter(idempotency_key__startswith=f"bench:{run}:")
               .values_list("id", flat=True))
    print(f"backend {settings.EMAIL_BACKEND} -> {mail_dir}; database "
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    started = time.perf_counter()
    outcomes = [notice_send(notice_id=notice_id).status for notice_id in ids]
    seconds = first = time.perf_counter() - started
    sent = outcomes.count("sent")
    print(f"sent {sent:,} of {len(ids):,} notices in {seconds:.2f} s: "
          f"{sent / seconds:,.0f} notices/s per worker process "
          f"({seconds / max(sent, 1) * 1000:.2f} ms each: claim, deliver, record)")
    started = time.perf_counter()
    repeats = [notice_send(notice_id=notice_id).status for notice_id in ids[:500]]
    seconds = time.perf_counter() - started
    print(f"a duplicate message for a sent notice costs {seconds / len(repeats) * 1000:.2f} ms "
          f"(all {set(repeats)})")
    leftover = Notice.objects.filter(id__in=ids).exclude(status=NoticeStatus.SENT).count()
    print(f"files written: {len(list(Path(mail_dir).iterdir()))}; not sent: {leftover}")
    Notice.objects.filter(id__in=ids).delete()
    return [harness.row("notice send (claim, deliver, record)",
                        [first / max(sent, 1) * 1000], None, None,
                        note=f"{sent / max(first, 1e-9):,.0f} notices/s per process")]


if __name__ == "__main__":
    harness.main_for(run)
