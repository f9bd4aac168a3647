"""Measure the deadline sweep over a large case base on PostgreSQL.

Seeds N cases (default 1,000,000), each with one running deadline, of which 1 % are due:
half past their risk point (-> at risk) and half past their due time (-> breached). Then times
  1. the sweep's selection and marking alone (``deadline_sweep(notify=False)``),
  2. the same with alerts and staff-email outbox rows written (dispatch to workers excluded),
  3. a sweep when nothing is due (the steady state, every minute),
and prints the query plans to show the partial indexes at work. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_background \\
        python bench/bench_sweep.py [--cases 1000000] [--due-percent 1] [--reseed]
            [--basis working] [--paused-percent 10] [--runs 3] [--mark-only]

``--basis working`` (issue 14) makes every other running clock count working time on the desk's
default calendar; ``--paused-percent P`` stops P % of them with a pause (``paused_at``, from the
pauses of issue 14; a quarter of the due rows are among them and must be skipped).

The database named in DATABASE_URL is created if missing and its case tables are REPLACED.
A database seeded before migration 0011 (cases_case fillfactor) has full pages, so the case
updates cannot be HOT there: pass --reseed once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.base")


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname=%s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def seed(total: int, due_percent: float) -> None:
    from django.contrib.auth.models import Group
    from django.db import connection

    from cases.choices import Role
    from cases.models import Customer, Department, User

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE cases_case, cases_customer, cases_alert, cases_notice, "
                    "cases_casedeadline RESTART IDENTITY CASCADE")
    User.objects.filter(username__startswith="bench-").delete()
    Department.objects.filter(code__startswith="bench-").delete()
    customer = Customer.objects.create(name="基准客户", email="bench@example.com")
    supervisors = Group.objects.get(name=Role.SUPERVISOR)
    agents = Group.objects.get(name=Role.FRONTLINE)
    owners = []
    for d in range(5):
        boss = User.objects.create(username=f"bench-boss{d}", email=f"boss{d}@example.com")
        boss.groups.add(supervisors)
        dept = Department.objects.create(code=f"bench-cs{d}", name=f"客服{d}组", manager=boss)
        for a in range(10):
            agent = User.objects.create(username=f"bench-agent{d}-{a}", department=dept,
                                        email=f"agent{d}{a}@example.com")
            agent.groups.add(agents)
            owners.append(agent.pk)
    owner_array = "ARRAY[" + ",".join(map(str, owners)) + "]::bigint[]"
    due_every = max(1, round(100 / due_percent))  # every n-th case is due
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(f"""
            INSERT INTO cases_case (tracking_code, channel, external_id, received_at, category,
                subject, description, order_ref, location, desired_outcome, urgency, scope,
                difficulty, suggested_tier, tier, stage, retiered, reopen_count, sla_state,
                ever_breached, response_breached, solution, feedback_message,
                preventive_measures, closing_reason, version, created_at, updated_at,
                customer_id, owner_id, reference, extensions_requested, extensions_approved,
                company)
            SELECT 'BENCH' || g, 'web', '', now() - interval '1 hour', 'delivery',
                '订单未按时送达', '基准数据', '', '', '', 'routine', 'individual', 'frontline',
                3, 3, 'in_progress', false, 0, 'on_time', false, false, '', '', '', '', 0,
                now(), now(), {customer.pk}, ({owner_array})[1 + g % {len(owners)}],
                'TS-B-' || lpad(g::text, 8, '0'), 0, 0, ''
            FROM generate_series(1, {total}) AS g
        """)
        # One running deadline per case. Not due: risk point hours ahead. Due cases alternate
        # between past the risk point (-> at risk) and past the due time (-> breached).
        cur.execute(f"""
            INSERT INTO cases_casedeadline (case_id, clock, started_at, risk_at, due_at, state,
                                            basis)
            SELECT c.id,
                (ARRAY['assign','response','solution','progress','feedback','follow_up'])
                    [1 + c.id % 6],
                CASE WHEN c.id % {due_every} = 0 AND c.id % {2 * due_every} = 0
                          THEN now() - interval '5 hours'
                     WHEN c.id % {due_every} = 0 THEN now() - interval '3 hours 10 minutes'
                     ELSE now() - interval '1 hour' END AS started,
                CASE WHEN c.id % {due_every} = 0 AND c.id % {2 * due_every} = 0
                          THEN now() - interval '2 hours'
                     WHEN c.id % {due_every} = 0 THEN now() - interval '10 minutes'
                     ELSE now() + interval '2 hours' END,
                CASE WHEN c.id % {due_every} = 0 AND c.id % {2 * due_every} = 0
                          THEN now() - interval '1 hour'
                     WHEN c.id % {due_every} = 0 THEN now() + interval '50 minutes'
                     ELSE now() + interval '3 hours' END,
                'on_time', 'elapsed'
            FROM cases_case c
        """)
        cur.execute("ANALYZE cases_case")
        cur.execute("ANALYZE cases_casedeadline")
    print(f"seeded {total:,} cases and deadlines in {time.perf_counter() - started:.1f} s")


class PhaseTimer:
    """Adds each SQL statement's time to a phase named after what it does."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001 - Django's hook
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.phases[self.name(sql)] += time.perf_counter() - started

    @staticmethod
    def name(sql: str) -> str:
        head = sql.lstrip()[:60].upper()
        if head.startswith("SELECT") and "FOR UPDATE" in sql.upper()[-80:]:
            table = "cases_case" if '"cases_case"."id" AS' in sql[:60] else "cases_casedeadline"
            return f"select + lock ({table})"
        for verb in ("UPDATE", "INSERT", "SELECT", "DELETE"):
            if head.startswith(verb):
                table = sql.split('"')[1] if '"' in sql else "?"
                return f"{verb.lower()} {table}"
        return head.split()[0].lower() if head else "other"


def explain(label: str, queryset) -> None:
    plan = queryset.explain()
    uses = [line.strip() for line in plan.splitlines() if "Index" in line or "Scan" in line]
    print(f"  plan of {label}: " + " | ".join(uses[:3]))


def reset_due(snapshot: list[tuple[int, str]]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("UPDATE cases_casedeadline SET state='on_time', breached_at=NULL "
                    "WHERE state <> 'on_time'")
        cur.execute("UPDATE cases_case SET sla_state='on_time', ever_breached=false, "
                    "response_breached=false WHERE sla_state <> 'on_time'")
        cur.execute("TRUNCATE cases_alert, cases_notice")
        cur.execute("VACUUM ANALYZE cases_casedeadline")


def set_basis(basis: str) -> None:
    """``working``: every other running deadline counts working time on the desk's default
    calendar (their due instants were computed when they started, so the sweep reads the same
    indexed instants); ``elapsed``: all back to elapsed time."""
    from django.db import connection

    from cases.worktime import default_calendar_id

    calendar_id = default_calendar_id() if basis == "working" else None
    started = time.perf_counter()
    with connection.cursor() as cur:
        if basis == "working":
            cur.execute("UPDATE cases_casedeadline SET basis='working', calendar_id=%s "
                        "WHERE case_id %% 2 = 0 AND basis <> 'working'", [calendar_id])
        else:
            cur.execute("UPDATE cases_casedeadline SET basis='elapsed', calendar_id=NULL "
                        "WHERE basis <> 'elapsed'")
        changed = cur.rowcount
        if changed:
            cur.execute("VACUUM ANALYZE cases_casedeadline")
    print(f"basis {basis}: {changed:,} deadlines changed in {time.perf_counter() - started:.1f} s")


def set_paused(percent: float, due_percent: float) -> None:
    """``percent`` of the running deadlines stopped by a pause (``paused_at``, issue 14's
    pauses): none of the due rows except every fourth one, which the sweep must then skip.
    Needs the pauses' ``CaseDeadline.paused_at`` (br-wt-pause)."""
    from django.db import connection

    from cases.models import CaseDeadline

    if "paused_at" not in {f.name for f in CaseDeadline._meta.get_fields()}:
        sys.exit("--paused-percent needs CaseDeadline.paused_at (the pauses of issue 14).")
    every = max(1, round(100 / percent)) if percent else 0
    due_every = max(1, round(100 / due_percent))
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("UPDATE cases_casedeadline SET paused_at=NULL WHERE paused_at IS NOT NULL")
        if every:
            cur.execute("UPDATE cases_casedeadline SET paused_at = now() - interval '1 hour' "
                        "WHERE (case_id + 1) %% %s = 0 OR case_id %% %s = 0",
                        [every, 4 * due_every])
        cur.execute("VACUUM ANALYZE cases_casedeadline")
        cur.execute("SELECT count(*) FROM cases_casedeadline WHERE paused_at IS NOT NULL")
        paused = cur.fetchone()[0]
    print(f"paused: {paused:,} deadlines in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    parser.add_argument("--reseed", action="store_true", help="seed even if the data exists")
    parser.add_argument("--basis", choices=("elapsed", "working"), default="elapsed",
                        help="working: half the running clocks count working time (issue 14)")
    parser.add_argument("--paused-percent", type=float, default=None,
                        help="share of running clocks paused (needs the pauses' paused_at)")
    parser.add_argument("--runs", type=int, default=1, help="times to run the marking sweep")
    parser.add_argument("--mark-only", action="store_true", help="only the marking sweep (1.)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://... (this benchmark measures PostgreSQL).")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case, CaseDeadline
    from cases.services import sweeps

    call_command("migrate", verbosity=0)
    if args.reseed or Case.objects.filter(tracking_code__startswith="BENCH").count() != args.cases:
        seed(args.cases, args.due_percent)
    else:
        reset_due([])
    set_basis(args.basis)
    if args.paused_percent is not None:
        set_paused(args.paused_percent, args.due_percent)
    now = timezone.now()
    open_rows = CaseDeadline.objects.filter(stopped_at__isnull=True).count()
    working = CaseDeadline.objects.filter(stopped_at__isnull=True, basis="working").count()
    print(f"{Case.objects.count():,} cases, {open_rows:,} running deadlines "
          f"({working:,} in working time)")
    explain("breach selection", sweeps._due_for_breach(now).values_list("id")[:5000])
    explain("risk selection", sweeps._due_for_risk(now).values_list("id")[:5000])

    # 1. selection + marking only (``--runs`` times, the due rows reset in between)
    runs = []
    for run in range(args.runs):
        if run:
            reset_due([])
        phases: dict[str, float] = defaultdict(float)
        with mock.patch("cases.services.sweeps.logger"), connection.execute_wrapper(
            PhaseTimer(phases)
        ):
            started = time.perf_counter()
            marked = sweeps.deadline_sweep(now=now, notify=False)
            runs.append(time.perf_counter() - started)
    print(f"1. selection + marking: {marked.breached:,} breached, {marked.at_risk:,} at risk "
          f"in {' / '.join(f'{r:.3f}' for r in runs)} s (load average "
          f"{os.getloadavg()[0]:.1f})")
    for phase, seconds in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"     {phase:<40} {seconds:.3f} s")
    if args.mark_only:
        return

    # 2. the full sweep with alerts and staff-email rows, dispatch to workers excluded
    reset_due([])
    phases.clear()
    with mock.patch("cases.services.outbox.notice_dispatch_on_commit"), \
            connection.execute_wrapper(PhaseTimer(phases)):
        started = time.perf_counter()
        full = sweeps.deadline_sweep(now=now)
        full_seconds = time.perf_counter() - started
    print(f"2. marking + {full.alerts:,} alerts + {full.notices:,} staff emails queued "
          f"in {full_seconds:.3f} s (of which SQL {sum(phases.values()):.3f} s)")
    for phase, seconds in sorted(phases.items(), key=lambda kv: -kv[1])[:6]:
        print(f"     {phase:<40} {seconds:.3f} s")

    # 3. the steady state: nothing new is due
    queries_before = len(connection.queries)
    started = time.perf_counter()
    idle = sweeps.deadline_sweep(now=now)
    idle_seconds = time.perf_counter() - started
    print(f"3. sweep with nothing due: {idle.as_dict()} in {idle_seconds * 1000:.1f} ms "
          f"({len(connection.queries) - queries_before} queries logged)")


if __name__ == "__main__":
    main()
