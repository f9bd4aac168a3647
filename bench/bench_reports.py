"""Benchmark of the KPI dashboard over a million cases on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres cd_reporting_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_reporting_bench \\
        python bench/bench_reports.py --cases 1000000

Migrates the database, seeds it with COPY (cases spread over two years, customers, key
customers, departments, collaboration requests, re-tier log rows) unless it already holds
that many cases (``--reseed`` forces it), builds the KPI day sums from scratch
(``reporting.summaries``) and times that and an incremental refresh, then times the
dashboard's selector and the whole page (request, queries, template) for last month and the
last 12 months (``--live``: also without the day sums, aggregating over the cases). Prints figures;
asserts nothing (see bench/ in STYLE.md).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.choices import Category, ChannelKind, Role, Stage  # noqa: E402
from cases.models import (  # noqa: E402
    Case,
    CaseTransition,
    CollaborationRequest,
    Customer,
    Department,
    RootCause,
    User,
)
from reporting import selectors, summaries  # noqa: E402
from reporting.models import KpiDaySum, RootCauseDaySum  # noqa: E402
from reporting.periods import LAST_12_MONTHS, LAST_MONTH, resolve, today_local  # noqa: E402

H = timedelta(hours=1)


def copy_rows(model: type, rows: object, with_id: bool = True) -> None:
    """COPY rows (dicts of column values) into ``model``'s table; columns the dict lacks get
    the model field's default, so fields added to the model later do not break the seed."""
    concrete = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    columns = [f.column for f in concrete]
    defaults = {f.column: f.get_default() for f in concrete}
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:  # type: ignore[attr-defined]
            copy.write_row([row.get(c, defaults[c]) for c in columns])


def seed(n_cases: int, seed_value: int = 7) -> None:
    rnd = random.Random(seed_value)
    now = timezone.now()
    start = now - timedelta(days=730)
    boss, _ = User.objects.get_or_create(username="bench-boss", defaults={"is_active": True})
    boss.set_password("pass12345")
    boss.save()
    from django.contrib.auth.models import Group

    boss.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    departments = [
        Department.objects.get_or_create(code=f"bench-{i}", defaults={
            "name": f"部门{i}", "name_en": f"Department {i}"})[0]
        for i in range(10)
    ]
    causes = list(RootCause.objects.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_case, cases_customer, cases_casetransition, "
                       "cases_collaborationrequest, cases_casedeadline, cases_notice, "
                       "cases_revisit, cases_casenote RESTART IDENTITY CASCADE")
    n_customers = max(n_cases // 4, 1)
    t0 = time.perf_counter()
    copy_rows(Customer, (
        {"id": i + 1, "name": f"客户{i}", "phone": f"13{i:09d}", "email": f"c{i}@example.com",
         "preferred_channel": "sms", "wechat_openid": "", "is_key_customer": rnd.random() < 0.05,
         "language": "zh-hans", "created_at": start}
        for i in range(n_customers)
    ))
    channels, categories = ChannelKind.values, Category.values
    dept_ids = [d.pk for d in departments]
    requests: list[dict[str, object]] = []
    transitions: list[dict[str, object]] = []
    span = (now - start).total_seconds()

    def cases():
        for i in range(1, n_cases + 1):
            received = start + timedelta(seconds=span * (i - 0.5) / n_cases)
            tier = rnd.choices((1, 2, 3), (1, 3, 6))[0]
            response_h, solution_h = {1: (1, 24), 2: (2, 48), 3: (4, 72)}[tier]
            row: dict[str, object] = {
                "id": i, "reference": f"TS-{received.year}-{i:07d}", "tracking_code": "BENCH",
                "customer_id": rnd.randint(1, n_customers),
                "channel": rnd.choice(channels), "category": rnd.choice(categories),
                "subject": "订单未按时送达", "description": "下单五天仍未收到货。",
                "external_id": "", "order_ref": "", "location": "", "desired_outcome": "",
                "urgency": "routine", "scope": "individual", "difficulty": "frontline",
                "suggested_tier": tier, "tier": tier, "received_at": received,
                "owner_id": boss.pk, "handler_id": boss.pk,
                "department_id": rnd.choice(dept_ids) if rnd.random() < 0.4 else None,
                "response_due_at": received + response_h * H,
                "solution_due_at": received + solution_h * H,
                "sla_state": "on_time", "solution": "", "feedback_message": "",
                "preventive_measures": "", "closing_reason": "", "version": 1,
                "created_at": received, "updated_at": received, "retiered": False,
                "reopen_count": 0, "ever_breached": False, "response_breached": False,
                "stage": Stage.IN_PROGRESS,
            }
            age_h = (now - received).total_seconds() / 3600
            responded = received + response_h * H * rnd.uniform(0.05, 1.15)
            late_response = responded > row["response_due_at"]
            if responded < now:
                row["first_responded_at"] = responded
                row["response_breached"] = late_response
            if rnd.random() < 0.03:
                row["stage"] = Stage.INVALID
                yield row
                continue
            resolved = received + solution_h * H * rnd.uniform(0.1, 1.1)
            if resolved < now and age_h > 6:
                row.update(resolved_at=resolved, feedback_due_at=resolved + 24 * H,
                           root_cause_id=rnd.choice(causes), stage=Stage.RESOLVED)
                given = resolved + H * rnd.uniform(1, 26)
                if given < now:
                    row.update(feedback_given_at=given, revisit_due_at=given + 48 * H,
                               stage=Stage.FEEDBACK_GIVEN)
                    done = given + H * rnd.uniform(40, 60)
                    if done < now and rnd.random() < 0.93:
                        score = rnd.choices((5, 4, 3, 2, 1), (60, 28, 6, 4, 2))[0]
                        row.update(revisit_done_at=done, satisfaction_score=score,
                                   satisfied=score >= 4)
                        if score >= 4:
                            row.update(stage=Stage.CLOSED, closed_at=done)
                        else:
                            closed = done + H * rnd.uniform(10, 40)
                            row.update(follow_up_due_at=done + 48 * H)
                            if closed < now:
                                row.update(stage=Stage.CLOSED, closed_at=closed,
                                           follow_up_done_at=closed)
                            else:
                                row["stage"] = Stage.FOLLOW_UP
            row["ever_breached"] = bool(late_response or (
                row.get("resolved_at") and row["resolved_at"] > row["solution_due_at"]))
            if rnd.random() < 0.07:
                row["retiered"] = True
                target = max(1, tier - 1) if rnd.random() < 0.6 else min(3, tier + 1)
                transitions.append({"case_id": i, "field": "tier", "name": "retier",
                                    "source": str(tier), "target": str(target),
                                    "actor_id": boss.pk, "note": "bench",
                                    "at": received + 2 * H})
            if row["stage"] == Stage.CLOSED and rnd.random() < 0.01:
                row["reopen_count"] = 1
            if rnd.random() < 0.15:
                created = received + H
                answered = created + H * rnd.uniform(1, 27)
                requests.append({
                    "case_id": i, "department_id": rnd.choice(dept_ids),
                    "requested_by_id": boss.pk, "ask": "请核实", "status": "answered",
                    "plan": "", "dispute_reason": "", "decision": "", "created_at": created,
                    "due_at": created + 24 * H,
                    "answered_at": answered if answered < now else None, "version": 0,
                })
            yield row

    copy_rows(Case, cases())
    t1 = time.perf_counter()
    copy_rows(CollaborationRequest, requests, with_id=False)
    copy_rows(CaseTransition, transitions, with_id=False)
    with connection.cursor() as cursor:
        for table in ("cases_case", "cases_customer", "cases_collaborationrequest",
                      "cases_casetransition"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        cursor.execute("VACUUM ANALYZE")
    t2 = time.perf_counter()
    print(f"seeded {n_cases:,} cases, {n_customers:,} customers, {len(requests):,} requests, "
          f"{len(transitions):,} re-tiers: cases COPY {t1 - t0:.1f} s, "
          f"rest + VACUUM ANALYZE {t2 - t1:.1f} s, total {t2 - t0:.1f} s")


def backend_cpu_seconds() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine only):
    on a busy machine wall time mostly measures the queue for the CPU, this does not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, repeat: int) -> tuple[float, list[float], int]:
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(times), times, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--keep-sums", action="store_true",
                        help="refresh the KPI day sums instead of rebuilding them")
    parser.add_argument("--live", action="store_true",
                        help="also time the dashboard computed over the cases (no day sums)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    call_command("migrate", verbosity=0)
    if args.reseed or Case.objects.count() != args.cases:
        seed(args.cases)
    else:
        print(f"reusing {args.cases:,} seeded cases")
    now = timezone.now()
    today = today_local(now)
    # The day sums: a full build (what a first deployment or a time-zone change costs, done
    # by the beat task), then the incremental refresh a page does after 200 changed cases.
    t = time.perf_counter()
    built = summaries.refresh(now=now) if args.keep_sums else summaries.rebuild(now=now)
    print(f"KPI day sums {'refreshed' if args.keep_sums else 'built from scratch'}: "
          f"{built.cases:,} cases in {built.batches} batches, "
          f"{time.perf_counter() - t:.1f} s; {KpiDaySum.objects.count():,} day rows, "
          f"{RootCauseDaySum.objects.count():,} root-cause rows")
    sample = list(Case.objects.filter(received_at__gte=now - timedelta(days=20))
                  .values_list("pk", flat=True)[:200])
    for pk in sample:
        Case.objects.filter(pk=pk).update(category=random.choice(Category.values))
    t = time.perf_counter()
    current = summaries.catch_up(now)
    print(f"refresh after {len(sample)} changed cases: {(time.perf_counter() - t) * 1000:.0f} ms"
          f" (current: {current})")
    if args.live:
        real = summaries.catch_up
        summaries.catch_up = lambda now: False  # type: ignore[assignment]
        for label, kind in (("one month", LAST_MONTH), ("one year", LAST_12_MONTHS)):
            period = resolve(kind, today=today)
            median, times, queries = timed(lambda p=period: selectors.dashboard(p, now), 3)
            print(f"{label:9} selector without the day sums (live aggregates): median "
                  f"{median:.0f} ms (runs: {', '.join(f'{t:.0f}' for t in times)})")
        summaries.catch_up = real  # type: ignore[assignment]
    client = Client()
    client.force_login(User.objects.get(username="bench-boss"))
    for label, kind in (("one month", LAST_MONTH), ("one year", LAST_12_MONTHS)):
        period = resolve(kind, today=today)
        # The clock moves on as it does for users (a fixed past "now" would read live).
        median, times, queries = timed(lambda p=period: selectors.dashboard(p, timezone.now()),
                                       args.repeat)
        print(f"{label:9} ({period.first} .. {period.last}) selector: median {median:.0f} ms "
              f"(runs: {', '.join(f'{t:.0f}' for t in times)}), {queries} queries")

        def page(k=kind):
            response = client.get("/reports/", {"period": k})
            assert response.status_code == 200, response.status_code

        median, times, queries = timed(page, args.repeat)
        print(f"{label:9} whole page: median {median:.0f} ms "
              f"(runs: {', '.join(f'{t:.0f}' for t in times)}), {queries} queries")
        # Serial database CPU time of the selector (parallel workers off, so one process
        # does all the work): what the queries cost an idle machine's single core.
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        before = backend_cpu_seconds()
        wall = time.perf_counter()
        selectors.dashboard(period, timezone.now())
        wall = time.perf_counter() - wall
        after = backend_cpu_seconds()
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")
        if before is not None and after is not None:
            print(f"{label:9} database CPU, serial: {(after - before) * 1000:.0f} ms "
                  f"(wall {wall * 1000:.0f} ms)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
