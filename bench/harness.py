"""What every bench script shares: Django set up on the database DATABASE_URL names (never
seeded, migrated or wiped here), the result rows ``run(argv)`` returns, timing pages through
the test client, the refusal before changing data, and the printed table.

A result row: ``dict(name, median_ms, p95_ms, queries, target_ms)`` (``target_queries``,
``runs`` and ``note`` when known). Bench scripts print figures; they assert nothing.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

Row = dict[str, Any]


class Refused(SystemExit):
    """The script would change data (or needs what this database lacks): nothing was done."""


def setup() -> None:
    """Django on DATABASE_URL; refuses a database with unapplied migrations (run
    ``manage.py migrate`` yourself: a benchmark does not change the schema)."""
    import django

    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise Refused(f"{database_label()} has unapplied migrations: run "
                      "`python manage.py migrate` first (benchmarks do not migrate).")


def database_label() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {settings['NAME']}"
    return f"{connection.vendor} {settings.get('HOST') or 'local'}/{settings['NAME']}"


def require_postgres(script: str) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        raise Refused(f"{script} measures PostgreSQL; {database_label()} is not. Set "
                      "DATABASE_URL=postgres://... to a seeded database (manage.py seed_demo).")


def require_yes(yes: bool, what: str) -> None:
    """Refuse before changing data unless the caller passed --yes."""
    if not yes:
        raise Refused(f"This benchmark {what} in {database_label()}. Nothing was changed; "
                      "pass --yes to let it.")


def require_cases(minimum: int = 1) -> int:
    from cases.models import Case

    count = Case.objects.order_by().count()
    if count < minimum:
        raise Refused(f"{database_label()} holds {count:,} cases: seed it first "
                      "(python manage.py seed_demo --cases N).")
    return count


def demo_user(username: str) -> Any:
    """The demo user the pages are requested as (seed_demo creates them)."""
    from cases.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise Refused(f"No user {username!r} in {database_label()}: seed the demo users "
                      "(python manage.py seed_demo --if-empty).")
    return user


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def row(name: str, times_ms: list[float], queries: int | None, target_ms: float | None,
        target_queries: int | None = None, note: str = "") -> Row:
    return {"name": name, "median_ms": statistics.median(times_ms) if times_ms else None,
            "p95_ms": percentile(times_ms, 0.95) if times_ms else None, "queries": queries,
            "target_ms": target_ms, "target_queries": target_queries, "runs": len(times_ms),
            "note": note}


def measure_page(client: Any, name: str, urls: Callable[[int], str], runs: int, *,
                 target_ms: float | None, target_queries: int | None = None,
                 follow: bool = False) -> Row:
    """GET ``urls(k)`` ``runs`` times (after 3 warm-ups) through the test client: the whole
    server side (middleware, session, queries, template)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for k in range(3):
        client.get(urls(k), follow=follow)
    times, queries, statuses = [], [], set()
    for k in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(urls(k + 3), follow=follow)
            times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
        queries.append(len(ctx.captured_queries))
    bad = sorted(s for s in statuses if s != 200)
    return row(name, times, max(queries), target_ms, target_queries,
               note=f"HTTP {bad}" if bad else "")


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], int]:
    """Milliseconds of each call and the queries of the last one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return times, queries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def verdict(r: Row) -> str:
    over_time = r.get("target_ms") is not None and r.get("p95_ms") is not None and (
        r["p95_ms"] > r["target_ms"])
    over_queries = r.get("target_queries") is not None and r.get("queries") is not None and (
        r["queries"] > r["target_queries"])
    if r.get("target_ms") is None and r.get("target_queries") is None:
        return ""
    return "MISSED" if over_time or over_queries else "ok"


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width table: name, median, p95, queries, target, verdict."""
    def num(value: Any, digits: int = 1) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = [f"{'page / operation':44} {'median ms':>10} {'p95 ms':>9} {'queries':>8} "
             f"{'target':>16}  verdict"]
    for r in rows:
        target = "-" if r.get("target_ms") is None else f"p95<={r['target_ms']:g}ms"
        if r.get("target_queries") is not None:
            target += f",<={r['target_queries']}q"
        queries = "-" if r.get("queries") is None else str(r["queries"])
        note = f"  {r['note']}" if r.get("note") else ""
        lines.append(f"{r['name'][:44]:44} {num(r.get('median_ms')):>10} "
                     f"{num(r.get('p95_ms')):>9} {queries:>8} {target:>16}  {verdict(r)}{note}")
    return "\n".join(lines)


def main_for(run: Callable[[list[str]], list[Row]]) -> None:
    """A script's ``__main__``: run, print the table, exit 2 with the reason when refused."""
    try:
        rows = run(sys.argv[1:])
    except Refused as refused:
        print(refused.code, file=sys.stderr)
        sys.exit(2)
    print()
    print(table(rows))
    print(f"({database_label()}; {load()})")
