"""Intake rate through the API over HTTP: gunicorn with 2 workers on PostgreSQL.

    apt-get install wrk                                 # the load generator
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed \\
    CACHE_URL=redis://127.0.0.1:6379/3 CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        python bench/bench_intake.py --yes

Issues an API key for the "app" channel, starts gunicorn (2 workers,
production settings, the given cache and broker; notices are queued to the broker as in
production, no worker drains them), then POSTs distinct complaints (every fifth one a retry
of an earlier external_id, a realistic mix of new and known customers and some cases on
shared orders so duplicate and group detection do real work) and prints complaints per
second, latency percentiles and the CPU time per request of gunicorn, its PostgreSQL
backends, Redis and the load generator. Then it counts the SQL queries of one create through
the same view in-process (CaptureQueriesContext on the same PostgreSQL). Prints figures;
asserts nothing.

It runs on the database DATABASE_URL names as it is (seed it first: ``manage.py seed_demo``,
a running desk; an empty table's first cached plans are not what a live one gets) and adds
complaints to it, so it needs ``--yes``. ``--port`` defaults to a free port.

Gunicorn: ``--worker-class gthread`` (default) with ``--threads N`` per worker (default 2),
or ``sync`` (one request at a time per worker; ``--threads`` is refused with it).
Load generator (``--client``):
- ``wrk`` (the default when ``wrk`` is installed): Debian's ``wrk`` (C, keep-alive where the
  server allows it) with a Lua script replaying the same pre-generated bodies
  (``--concurrency`` connections, 2 threads, for ``--seconds``); far lighter, so more of
  the 2 cores are left to the server. wrk counts only statuses, so created/retried
  complaints are counted in the database afterwards.
- ``threads``: ``--concurrency`` Python threads, one connection per request; simple, but
  Python's http.client costs about as much CPU as the server on these cores.

The defaults are the measurement in ``channels/README.md``: ``--client wrk --seconds 20
--concurrency 8 --worker-class gthread --threads 2``; ``--workers 1/2/4`` shows how the rate
grows with web processes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")
os.environ.setdefault("DEBUG", "0")
# No limit in effect, and a one-second window: DRF's throttle keeps every request time of
# the window per key, so a minute's window would grow to the whole run's requests.
os.environ.setdefault("INTAKE_API_RATE", "100000000/1")

try:
    from bench import harness  # noqa: E402
except ImportError:
    import harness  # type: ignore[no-redef]  # noqa: E402

import django  # noqa: E402

django.setup()

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
        # Orders belong to the run: a later run on the same database must not find the
        # earlier runs' cases on "SO-7" (a matter with hundreds of cases is a group already).
        "order_ref": f"SO-{run}-{f'S{rnd.randrange(20)}' if shared_order else i}",
        "urgency": "emergency" if rnd.random() < 0.05 else "routine",
        "difficulty": rnd.choice(["frontline", "cross_department"]),
    }


def start_gunicorn(port: int, workers: int, worker_class: str = "sync",
                   threads: int = 1) -> subprocess.Popen:
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
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--worker-class", worker_class,
         *(["--threads", str(threads)] if worker_class == "gthread" else [])],
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


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all processes, /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _redis_pids() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "redis-server":
                found.append(int(comm.parent.name))
        except OSError:
            continue
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


_WRK_SCRIPT = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local bodies, n, i = {}, 0, 0
function init(args)
  local every, k = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if k % every == id then n = n + 1; bodies[n] = line end
    k = k + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format(nil, "/api/v1/complaints", nil, bodies[i])
end

function done(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("latency-us p%d %d\\n", p, latency:percentile(p)))
  end
end
"""


def load_wrk(port: int, key: str, seconds: int, concurrency: int, run: str) -> dict:
    """The same bodies as ``load`` from Debian's wrk: each wrk connection thread takes its
    own slice of a pre-generated file (wrk runs one Lua state per thread; ``setup`` hands
    each its number). Enough bodies for the run, so wrapping around never turns new
    complaints into retries."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    threads = 2
    total = max(2000, seconds * 1500)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "bodies.jsonl")
        with data.open("w") as out:
            for i in range(total):
                n = i - 3 if i % 5 == 4 and i > 3 else i
                out.write(json.dumps(body(n, run), ensure_ascii=False) + "\n")
        script = Path(tmp, "post.lua")
        script.write_text(_WRK_SCRIPT)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            [wrk, "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "--latency",
             "-s", str(script), f"http://127.0.0.1:{port}", "--", str(data), str(threads), key],
            capture_output=True, text=True, check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"text": out, "client_cpu": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime)}


def _wrk_figures(text: str) -> dict:
    import re

    figures: dict = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    if m:
        figures["requests"] = int(m.group(1))
        figures["wall"] = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    for pct, value in re.findall(r"^latency-us p(\d+) (\d+)$", text, re.M):
        figures[f"p{pct}"] = int(value) / 1000
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non2xx"] = int(m.group(1)) if m else 0
    return figures


def queries_per_create(key: str, run: str, *, new_customers: bool) -> list[int]:
    """SQL statements of 30 creates, each of a new customer (a phone never seen) or all of
    one returning customer (known from a complaint made first)."""
    client = Client()

    def create(data: dict) -> Any:
        return client.post("/api/v1/complaints", json.dumps(data),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")

    known = body(9_999_999, run + "-q")
    if not new_customers:
        create(known)
    counts = []
    for i in range(30):
        data = body(10_000_000 + i, run + "-q")
        data["customer"] = ({**data["customer"], "phone": f"137{random.randrange(10**8):08d}"}
                            if new_customers else known["customer"])
        with CaptureQueriesContext(connection) as ctx:
            response = create(data)
        assert response.status_code == 201, response.content
        counts.append(len([q for q in ctx.captured_queries if q["sql"] not in _TX]))
    return counts


_TX = {"BEGIN", "COMMIT", "ROLLBACK"}


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0,
                        help="gunicorn's port (default: a free one)")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per gunicorn worker (gthread only; default 2)")
    parser.add_argument("--client", default="wrk" if shutil.which("wrk") else "threads",
                        choices=["threads", "wrk"])
    parser.add_argument("--seconds", type=int, default=20, help="wrk: length of the run")
    parser.add_argument("--yes", action="store_true",
                        help="allow the complaints and the API key it creates")
    args = parser.parse_args(argv)
    if args.worker_class == "sync" and args.threads is not None:
        parser.error("--threads applies to --worker-class gthread only (sync workers serve "
                     "one request at a time)")
    args.threads = args.threads or (2 if args.worker_class == "gthread" else 1)
    args.port = args.port or harness.free_port()
    harness.setup()
    harness.require_postgres("bench_intake")
    harness.require_cases()
    harness.require_yes(args.yes, f"creates complaints through the API (about "
                                  f"{args.requests:,}) and an API key for the app channel")
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum keeps them
        cursor.execute("ANALYZE")
    channel = Channel.objects.get(code="app")
    _key, raw = ApiKey.issue(channel, label="bench")
    run = f"bench{int(time.time())}"
    proc = start_gunicorn(args.port, args.workers, args.worker_class, args.threads)
    try:
        load(args.port, raw, 200, args.concurrency, run + "-warm")  # warm both workers
        workers, backends, redis = _children(proc.pid), _postgres_pids(), _redis_pids()
        cpu_before = _cpu_seconds(workers), _cpu_seconds(backends), _cpu_seconds(redis)
        own_before = time.process_time()
        busy_before, wall_before = _machine_busy_seconds(), time.monotonic()
        if args.client == "wrk":
            result = load_wrk(args.port, raw, args.seconds, args.concurrency, run)
        else:
            result = load(args.port, raw, args.requests, args.concurrency, run)
            result["client_cpu"] = time.process_time() - own_before
        cpu_after = _cpu_seconds(workers), _cpu_seconds(backends), _cpu_seconds(redis)
        busy = _machine_busy_seconds() - busy_before
        ours = sum(a - b for a, b in zip(cpu_after, cpu_before, strict=True)) + result[
            "client_cpu"]
        result["others"] = max(0.0, busy - ours) / (time.monotonic() - wall_before)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    server = (f"gunicorn {args.workers} {args.worker_class} workers{threads} on port "
              f"{args.port}, {os.cpu_count()} CPUs (shared by gunicorn, PostgreSQL, Redis and "
              "the client)")
    if args.client == "wrk":
        rows = [_report_wrk(args, result, cpu_before, cpu_after, server, run)]
    else:
        rows = [_report_threads(args, result, cpu_before, cpu_after, server)]
    print(f"other processes on the machine used {result['others']:.2f} of its "
          f"{os.cpu_count()} cores meanwhile (machine busy time minus this benchmark's)")
    for new_customers in (True, False):
        counts = queries_per_create(raw, run + ("-n" if new_customers else "-r"),
                                    new_customers=new_customers)
        print(f"SQL statements per create besides BEGIN/COMMIT (in-process, same view, "
              f"PostgreSQL), {'new' if new_customers else 'returning'} customers: "
              f"min {min(counts)} max {max(counts)} mean {statistics.mean(counts):.1f}")
        rows[0]["queries"] = max(rows[0]["queries"] or 0, max(counts))
    return rows


def _cpu_line(n: int, cpu_before: tuple, cpu_after: tuple, client_cpu: float) -> str:
    app_ms, pg_ms, redis_ms = (
        (a - b) / n * 1000 for a, b in zip(cpu_after, cpu_before, strict=True))
    client_ms = client_cpu / n * 1000
    return (f"CPU per request: gunicorn workers {app_ms:.2f} ms, their PostgreSQL backends "
            f"{pg_ms:.2f} ms, redis-server {redis_ms:.2f} ms, load generator {client_ms:.2f} ms"
            f" -> server-side ceiling on 2 dedicated cores ~"
            f"{2000 / max(app_ms + pg_ms + redis_ms, 0.1):.0f} req/s")


def _report_wrk(args: argparse.Namespace, result: dict, cpu_before: tuple, cpu_after: tuple,
                server: str, run: str) -> harness.Row:
    from cases.models import Case

    figures = _wrk_figures(result["text"])
    created = Case.objects.filter(external_id__regex=rf"^{run}-[0-9]+$").count()
    n, wall = figures.get("requests", 0), figures.get("wall", 1.0)
    print(f"{server}; wrk 2 threads, {args.concurrency} connections, {args.seconds} s")
    if created == 0 or "p50" not in figures:
        print("WARNING: no complaint created or no latency figures: the wrk script failed "
              "(wrk then sends plain GETs)")
    print(f"requests {n} in {wall:.2f} s; non-2xx {figures['non2xx']}")
    print(f"complaints created {created} ({created / wall:.0f} created/s); "
          f"answered {n - figures['non2xx']} ({(n - figures['non2xx']) / wall:.0f} req/s "
          f"incl. retries)")
    print(f"latency ms p50 {figures.get('p50', 0):.1f}  p90 {figures.get('p90', 0):.1f}  "
          f"p95 {figures.get('p95', 0):.1f}  p99 {figures.get('p99', 0):.1f}")
    print(_cpu_line(max(n, 1), cpu_before, cpu_after, result["client_cpu"]))
    return {"name": f"API intake ({args.worker_class}, {args.workers} workers)",
            "median_ms": figures.get("p50"), "p95_ms": figures.get("p95"), "queries": None,
            "target_ms": None, "runs": n, "note": f"{created / wall:.0f} created/s"}


def _report_threads(args: argparse.Namespace, result: dict, cpu_before: tuple,
                    cpu_after: tuple, server: str) -> harness.Row:
    lat = result["latencies"]
    created = result["statuses"].get(201, 0)
    answered = created + result["statuses"].get(200, 0)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    print(f"{server}; {args.concurrency} client threads")
    print(f"requests {len(lat)} in {result['wall']:.2f} s; statuses {result['statuses']}")
    print(f"complaints created {created} ({created / result['wall']:.0f} created/s); "
          f"answered {answered} ({answered / result['wall']:.0f} req/s incl. retries)")
    print(f"latency ms p50 {pct(0.5):.1f}  p90 {pct(0.9):.1f}  p99 {pct(0.99):.1f}  "
          f"mean {statistics.mean(lat) * 1000:.1f}")
    print(f"latency ms p95 {pct(0.95):.1f}")
    print(_cpu_line(len(lat), cpu_before, cpu_after, result["client_cpu"]))
    return {"name": f"API intake ({args.worker_class}, {args.workers} workers)",
            "median_ms": pct(0.5), "p95_ms": pct(0.95), "queries": None, "target_ms": None,
            "runs": len(lat), "note": f"{created / result['wall']:.0f} created/s"}


if __name__ == "__main__":
    harness.main_for(run)
