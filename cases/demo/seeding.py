"""Seeding: customers and simulated cases with their history, written chunk by chunk (one
transaction each, COPY on PostgreSQL), optionally by several processes, then the sequences,
the planner statistics and the KPI day sums brought up to date."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    ComplaintGroup,
    Customer,
    Department,
    Notice,
    Revisit,
    RootCause,
    User,
)
from cases.services.clocks import policy_for
from cases.services.sweeps import supervisors_by_department
from reporting import summaries

from .copies import Run, copy_cases
from .reference import seed_reference_data
from .simulation import SHOWCASE_HOLDS, CaseWriter, Plan, customer_row
from .tables import Table, analyze, bulk_load, next_id, reset_sequences, set_replica_role

CHUNK = 5000
# A PostgreSQL seed of more cases simulates about this many in Python (with their history)
# and copies each in the database to fill the rest (``copies``).
SIMULATED = 10_000
# From this many cases into a table holding fewer, the indexes are rebuilt after the load.
BULK_MIN = 50_000
# Write order: what a row refers to first.
TABLES = {
    "group": ComplaintGroup, "case": Case, "request": CollaborationRequest,
    "deadline": CaseDeadline, "alert": Alert, "transition": CaseTransition, "note": CaseNote,
    "notice": Notice, "compensation": Compensation, "revisit": Revisit,
}
LOADED = [Customer, *TABLES.values()]

Progress = Callable[[str, int, int], None]


@dataclass
class SeedResult:
    cases: int
    customers: int
    load_seconds: float
    index_seconds: float
    kpi_seconds: float
    workers: int
    simulated: int = 0


def make_plan(count: int, *, seed: int, days: int, now: datetime, stride: int = 1) -> Plan:
    """The run's fixed inputs: first ids, people, departments, policies; every ``stride``-th
    case and customer simulated."""
    staff = seed_reference_data()
    departments = [(d.pk, d.liaison_id, str(d)) for d in
                   Department.objects.filter(liaison__isnull=False).order_by("code")]
    supervisors, managers = supervisors_by_department()
    manager = managers.get(User.objects.get(pk=staff["agent"].pk).department_id)
    return Plan(
        seed=seed, now=now, days=days, total=count, first_case=next_id(Case),
        first_customer=next_id(Customer), customers=max(1, count // 3 // stride) * stride,
        stride=stride,
        first_request=next_id(CollaborationRequest),
        first_deadline=next_id(CaseDeadline), first_group=next_id(ComplaintGroup),
        staff={name: User.objects.get(pk=u.pk) for name, u in staff.items()},
        departments=departments,
        root_causes=list(RootCause.objects.filter(is_active=True).values_list("pk", flat=True)),
        policies={t: policy_for(t) for t in (1, 2, 3)},
        supervisors=[manager] if manager else supervisors,
        featured=min(2 * len(departments) + len(SHOWCASE_HOLDS), count // 3),
    )


def seed_customers(plan: Plan, index: int) -> int:
    """Chunk ``index`` of the simulated customers."""
    table = Table(Customer)
    start = index * CHUNK
    for i in range(start, min(start + CHUNK, plan.customers // plan.stride)):
        table.add(**customer_row(plan, plan.first_customer + i * plan.stride))
    with transaction.atomic():
        return table.flush()


def seed_chunk(plan: Plan, index: int) -> int:
    """Chunk ``index`` of the simulated cases with their history, in one transaction. The
    chunk's random stream depends only on the seed and the index, so any number of processes
    writes the same data."""
    rng = random.Random(f"{plan.seed}:{index}")
    tables = {name: Table(model) for name, model in TABLES.items()}
    writer = CaseWriter(plan, rng, tables)
    start = index * CHUNK
    end = min(start + CHUNK, _simulated(plan))
    for n in range(start, end):
        writer.case(n * plan.stride)
    writer.flush_groups()
    with transaction.atomic():
        for table in tables.values():
            table.flush()
    return end - start


def _simulated(plan: Plan) -> int:
    return -(-plan.total // plan.stride)


def _task(task: tuple[str, int]) -> tuple[str, int]:
    kind, index = task
    done = seed_customers(_PLAN, index) if kind == "customers" else seed_chunk(_PLAN, index)
    return kind, done


_PLAN: Plan


def _worker_init(plan: Plan, replica: bool) -> None:
    global _PLAN
    _PLAN = plan
    if replica:
        set_replica_role(True)


def seed_cases(count: int, *, seed: int = 7, days: int = 90, workers: int = 1,
               progress: Progress | None = None, now: datetime | None = None,
               simulated: int = SIMULATED) -> SeedResult:
    """Add ``count`` simulated cases (and a third as many customers) with their history.
    On PostgreSQL a large load into a smaller table runs without secondary indexes and, for
    a superuser, without per-row trigger work (see ``tables.bulk_load``); ``workers`` > 1
    splits the chunks over processes; above ``simulated`` cases, Python simulates about that
    many and the database copies them to fill the rest (``copies``). Side effects: the rows,
    the database sequences, the KPI day sums brought up to date."""
    now = now or timezone.now()
    postgres = connection.vendor == "postgresql"
    stride = max(1, count // simulated) if postgres else 1
    plan = make_plan(count, seed=seed, days=days, now=now, stride=stride)
    # Worker processes write through their own connections: they cannot see (nor join) an
    # open transaction's rows, so inside one (a test, an atomic caller) seeding stays in process.
    workers = max(1, workers if postgres and transaction.get_autocommit() else 1)
    big = postgres and count >= BULK_MIN and count >= Case.objects.count()
    tasks = [("customers", i) for i in range(-(-plan.customers // stride // CHUNK))] + [
        ("cases", i) for i in range(-(-_simulated(plan) // CHUNK))]
    done = {"customers": 0, "cases": 0}
    total = {"customers": plan.customers // stride, "cases": _simulated(plan)}
    started = time.monotonic()
    timings = {}

    def step(kind: str, n: int) -> None:
        done[kind] += n
        if progress:
            progress(kind, done[kind], total[kind])

    def event(what: str) -> None:
        if progress:
            progress(what, 0, 0)

    with bulk_load(LOADED, rebuild_indexes=big, report=event, workers=workers) as replica:
        if workers == 1:
            _worker_init(plan, False)
            for task in tasks:
                step(*_task(task))
        else:
            connections.close_all()  # each process opens its own
            context = multiprocessing.get_context("fork")
            with context.Pool(workers, _worker_init, (plan, replica)) as pool:
                for result in pool.imap_unordered(_task, tasks):
                    step(*result)
            if replica:  # this process's new connection starts with the default role
                set_replica_role(True)
        timings["kpi"] = time.monotonic()
        summaries.rebuild(now=now)
        timings["copies"] = time.monotonic()
        if stride > 1:
            _copy(plan)
            copy_cases(Run(first_case=plan.first_case, count=count, stride=stride,
                           first_customer=plan.first_customer, first_group=plan.first_group),
                       workers=workers, replica=replica, report=event)
        timings["index"] = time.monotonic()
    reset_sequences(LOADED)
    analyze(LOADED, workers=workers)
    finished = time.monotonic()
    return SeedResult(cases=count, customers=plan.customers,
                      load_seconds=timings["kpi"] - started + timings["index"] - timings["copies"],
                      index_seconds=finished - timings["index"],
                      kpi_seconds=timings["copies"] - timings["kpi"], workers=workers,
                      simulated=_simulated(plan))


def _copy(plan: Plan) -> None:
    """Add each simulated case's copies to the KPI sums (the copy fills the rows)."""
    copies = {}
    for n in range(_simulated(plan)):
        offset = n * plan.stride
        copies[plan.first_case + offset] = min(plan.stride, plan.total - offset) - 1
    summaries.add_copies(copies)


def _record_path() -> Path:
    name = Path(str(connection.settings_dict["NAME"])).name
    return Path(settings.VAR_DIR) / "bench" / f"seed_demo-{connection.vendor}-{name}.json"


def record_seed(result: SeedResult, seconds: float) -> None:
    """Keep the figures of a seed run beside the database (bench/run_all.py reports them)."""
    path = _record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    one, five, _fifteen = os.getloadavg()
    path.write_text(json.dumps({
        **asdict(result), "seconds": seconds, "at": timezone.now().isoformat(),
        "load": f"{one:.1f}/{five:.1f} on {os.cpu_count()} cores"}))


def last_seed_record() -> dict[str, Any] | None:
    """The figures of the last seed run recorded for this database, if any."""
    path = _record_path()
    return json.loads(path.read_text()) if path.exists() else None
