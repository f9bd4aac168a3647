"""Benchmark of the live desk's change check, on the database DATABASE_URL names (or the
test settings' SQLite), without seeding or wiping it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_desk_bench \\
        python bench/bench_live.py --runs 300 --agents 200 --interval 10

Signs in as an existing supervisor (or creates one user, ``bench-live``, when the database has
none) through Django's test client (the whole server side: middleware, session, user, cache),
then measures:

- ``live check, nothing changed``: the poll every open desk page sends (target 5 ms, at most
  2 queries: the session and the user; 1 with CACHE_URL naming Redis, whose sessions are read
  from the cache), with the CPU time per request beside the wall time;
- ``live check, changed``: the same after a write bumped the counter (the cache only);
- ``refresh fetch after a change``: the case list a page then fetches to swap its rows;
- ``200 agents polling``: ``--agents`` simulated agents polling every ``--interval`` seconds,
  run closed-loop on ``--threads`` threads for ``--seconds``: the requests per second the
  process served, the rate the agents need, and the added database load (queries and
  database time per second at that rate).

``run(argv)`` returns one dict per line (name, median_ms, p95_ms, queries, target_ms) for
bench/run_all.py; the script prints them. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from cases.choices import Role  # noqa: E402
from cases.models import User  # noqa: E402
from cases.services import live  # noqa: E402

CHECK_TARGET_MS = 5.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _row(name: str, times: list[float], queries: int, target: float | None,
         **extra: Any) -> dict[str, Any]:
    return {"name": name, "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(_p95(times), 3), "queries": queries, "target_ms": target, **extra}


def _supervisor() -> User:
    user = (User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR)
            .order_by("pk").first())
    if user is None:
        user, created = User.objects.get_or_create(username="bench-live")
        if created:
            user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    return user


def _measure(client: Client, url: str, runs: int, before=None,
             cpu: list[float] | None = None) -> tuple[list[float], int, float]:
    """Times (ms), the most queries of one request, and the mean database time (ms); the
    process's CPU time per request (ms) goes to ``cpu`` (wall time minus the waits, which on
    a busy machine include waiting for a core after each database or cache round trip)."""
    times, most, db_ms = [], 0, 0.0
    for _ in range(runs):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.thread_time()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if cpu is not None:
                cpu.append((time.thread_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.status_code
        most = max(most, len(ctx.captured_queries))
        db_ms += sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    return times, most, db_ms / runs


def _load(cookies: Any, url: str, threads: int, seconds: float) -> tuple[int, float]:
    """Closed-loop polling on ``threads`` threads for ``seconds``: (requests, elapsed)."""
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        client = Client()
        client.cookies = cookies
        try:
            while time.monotonic() < stop:
                client.get(url)
                done[i] += 1
        finally:
            connections.close_all()

    start = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done), time.monotonic() - start


def run(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--interval", type=float, default=float(live.poll_seconds()))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    user = _supervisor()
    client = Client()
    client.force_login(user)
    try:
        url = reverse("desk:live_check") + "?t=" + live.live_token(user, [live.CASES])
        _measure(client, url, 20)  # warm up
        rows = []
        cpu: list[float] = []
        times, queries, db_ms = _measure(client, url, args.runs, cpu=cpu)
        rows.append(_row("live check, nothing changed", times, queries, CHECK_TARGET_MS,
                         db_ms=round(db_ms, 3), cpu_ms=round(statistics.median(cpu), 3)))
        times, queries, db_ms = _measure(client, url, args.runs,
                                         before=lambda: live.live_changed(live.CASES))
        rows.append(_row("live check, changed", times, queries, CHECK_TARGET_MS,
                         db_ms=round(db_ms, 3)))
        times, queries, db_ms = _measure(client, reverse("desk:cases"), max(20, args.runs // 10))
        rows.append(_row("refresh fetch after a change (case list)", times, queries, None,
                         db_ms=round(db_ms, 3)))

        if connection.vendor == "sqlite":  # one writer at a time: threads lock its sessions
            return rows
        needed = args.agents / args.interval
        served, elapsed = _load(client.cookies, url, args.threads, args.seconds)
        capacity = served / elapsed
        check = rows[0]
        rows.append({
            "name": f"{args.agents} agents polling every {args.interval:g} s",
            "median_ms": round(1000 / capacity * args.threads, 3), "p95_ms": None,
            "queries": round(needed * check["queries"], 1), "target_ms": None,
            "served_per_s": round(capacity, 1), "needed_per_s": round(needed, 1),
            "busy_share": round(needed / capacity, 3),
            "db_ms_per_s": round(needed * check["db_ms"], 2),
        })
        return rows
    finally:
        client.logout()


def main(argv: list[str] | None = None) -> None:
    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}; "
          f"cache: {settings.CACHES['default']['BACKEND']}; sessions: {settings.SESSION_ENGINE}")
    for row in run(argv):
        extra = {k: v for k, v in row.items()
                 if k not in ("name", "median_ms", "p95_ms", "queries", "target_ms")}
        print(f"{row['name']:<42} median {row['median_ms']} ms  p95 {row['p95_ms']} ms  "
              f"queries {row['queries']}  target {row['target_ms']} ms  {extra}")


if __name__ == "__main__":
    main(sys.argv[1:])
