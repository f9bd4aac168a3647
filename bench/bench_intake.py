"""Intake rate through the API over HTTP: gunicorn with 2 workers on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres cd_intake        # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_intake \\
    CACHE_URL=redis://127.0.0.1:6379/3 CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        python bench/bench_intake.py --requests 4000 --concurrency 8

Migrates the database, issues an API key for the "app" channel, starts gunicorn (2 sync
workers, production settings, the given cache and broker; notices are queued to the broker as
in production, no worker drains them), then POSTs distinct complaints (every fifth one a
retry of an earlier external_id, a realistic mix of new and known customers and some cases on
shared orders so duplicate and group detection do real work) from ``--concurrency`` client
threads over keep-alive-less HTTP/1.1, and prints complaints per second and latency
percentiles. Then it counts the SQL queries of one create through the same view in-process
(CaptureQueriesContext on the same PostgreSQL). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cd_intake")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from channels.models import ApiKey, Channel  # noqa: E402

CATEGORIES = ["delivery", "billing", "product_quality", "after_sales", "service_attitude"]


def body(i: int, run: str) -> dict:
    rnd = random.Random(i)
    known = rnd.random() < 0.3  # a returning customer
    phone = f"139{rnd.randrange(0, 2000 if known else 10**8):08d}"
    shared_order = rnd.random() < 0.1
    return {
        "external_id": f"{run}-{i}",
        "customer": {"name": f"客户{i}", "phone": phone, "preferred_channel": "sms"},
        "category": rnd.choice(CATEGORIES),
        "subject": "订单未按时送达" if i % 2 else "Kettle leaks from the base",
        "description": "下单五天仍未收到货，客服电话无人接听。" * rnd.randint(1, 8),
        "order_ref": f"SO-{rnd.randrange(20) if shared_order else i}",
        "urgency": "emergency" if rnd.random() < 0.05 else "routine",
        "difficulty": rnd.choice(["frontline", "cross_department"]),
    }


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        "SECURE_SSL_REDIRECT": "0",
        "INTAKE_API_RATE": "100000000/60",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "complaints_project.wsgi:application", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--worker-class", "sync"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/schema")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def _cpu_seconds(pids: list[int]) -> float:
    """user+system CPU time of processes (Linux /proc), for the cost per request."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _postgres_pids() -> list[int]:
    """The PostgreSQL backends serving this benchmark's database (gunicorn's connections)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return [row[0] for row in cursor.fetchall()]


def load(port: int, key: str, total: int, concurrency: int, run: str) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            # every fifth request retries an earlier submission (idempotency under load)
            n = i - 3 if i % 5 == 4 and i > 3 else i
            payload = json.dumps(body(n, run), ensure_ascii=False).encode()
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/api/v1/complaints", payload, {
                "Authorization": f"Bearer {key}", "Content-Type": "application/json",
            })
            response = conn.getresponse()
            response.read()
            conn.close()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"wall": wall, "statuses": statuses, "latencies": latencies}


def queries_per_create(key: str, run: str) -> list[int]:
    client = Client()
    counts = []
    for i in range(30):
        data = body(10_000_000 + i, run + "-q")
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/v1/complaints", json.dumps(data),
                                   content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 201, response.content
        counts.append(len([q for q in ctx.captured_queries if q["sql"] not in _TX]))
    return counts


_TX = {"BEGIN", "COMMIT", "ROLLBACK"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Point DATABASE_URL at PostgreSQL (see the docstring).")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum keeps them
        cursor.execute("ANALYZE")
    channel = Channel.objects.get(code="app")
    _key, raw = ApiKey.issue(channel, label="bench")
    run = f"bench{int(time.time())}"
    proc = start_gunicorn(args.port, args.workers)
    try:
        load(args.port, raw, 200, args.concurrency, run + "-warm")  # warm both workers
        workers, backends = _children(proc.pid), _postgres_pids()
        cpu_before = _cpu_seconds(workers), _cpu_seconds(backends)
        result = load(args.port, raw, args.requests, args.concurrency, run)
        cpu_after = _cpu_seconds(workers), _cpu_seconds(backends)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    lat = result["latencies"]
    created = result["statuses"].get(201, 0)
    answered = created + result["statuses"].get(200, 0)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    print(f"gunicorn {args.workers} sync workers, {args.concurrency} client threads, "
          f"{os.cpu_count()} CPUs (shared by gunicorn, PostgreSQL, Redis and this client)")
    print(f"requests {len(lat)} in {result['wall']:.2f} s; statuses {result['statuses']}")
    print(f"complaints created {created} ({created / result['wall']:.0f} created/s); "
          f"answered {answered} ({answered / result['wall']:.0f} req/s incl. retries)")
    print(f"latency ms p50 {pct(0.5):.1f}  p90 {pct(0.9):.1f}  p99 {pct(0.99):.1f}  "
          f"mean {statistics.mean(lat) * 1000:.1f}")
    n = len(lat)
    app_ms = (cpu_after[0] - cpu_before[0]) / n * 1000
    pg_ms = (cpu_after[1] - cpu_before[1]) / n * 1000
    print(f"CPU per request: gunicorn workers {app_ms:.1f} ms, their PostgreSQL backends "
          f"{pg_ms:.1f} ms -> ceiling on 2 dedicated cores ~"
          f"{2000 / max(app_ms + pg_ms, 0.1):.0f} req/s")
    counts = queries_per_create(raw, run)
    print(f"SQL statements per create besides BEGIN/COMMIT (in-process, same view, "
          f"PostgreSQL): "
          f"min {min(counts)} max {max(counts)} mean {statistics.mean(counts):.1f}")


if __name__ == "__main__":
    main()
