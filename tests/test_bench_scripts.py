"""Every bench script stays runnable on a tiny seeded database (so they cannot rot): each
``run(argv)`` returns its rows, refuses before changing data without --yes, and the run_all
table holds them. No timing is asserted. PostgreSQL-only scripts skip on SQLite."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"name", "median_ms", "p95_ms", "queries", "target_ms"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--cases", "30")


def _run(name: str, *argv: str) -> list[dict]:
    rows = importlib.import_module(f"bench.{name}").run(list(argv))
    assert rows and all(KEYS <= set(r) for r in rows), rows
    return rows


def _refused(name: str, *argv: str) -> str:
    from bench.harness import Refused

    with pytest.raises(Refused) as refused:
        importlib.import_module(f"bench.{name}").run(list(argv))
    return str(refused.value.code)


def test_bench_desk_measures_every_page_kind_as_a_demo_user(tiny):
    rows = _run("bench_desk", "--runs", "1")
    names = [r["name"] for r in rows]
    assert "desk list, page 1" in names and any("page 1,000" in n for n in names)
    assert any("description words (Chinese)" in n for n in names)
    assert any("description words (English)" in n for n in names)
    assert any(n.startswith("case page") for n in names)
    assert all(r["note"] == "" for r in rows), [r for r in rows if r["note"]]  # all HTTP 200
    assert all(r["target_ms"] for r in rows)


def test_bench_desk_saved_filters_need_yes(tiny):
    assert "pass --yes" in _refused("bench_desk", "--saved-filters")
    assert any("saved filter" in r["name"]
               for r in _run("bench_desk", "--runs", "1", "--saved-filters", "--yes"))


def test_bench_reports_measures_month_and_year_without_touching_cases(tiny):
    from cases.models import Case

    before = list(Case.objects.order_by("pk").values_list("pk", "category"))
    rows = _run("bench_reports", "--repeat", "1")
    assert {"KPI dashboard page, month", "KPI dashboard page, year"} <= {r["name"] for r in rows}
    assert list(Case.objects.order_by("pk").values_list("pk", "category")) == before
    assert "pass --yes" in _refused("bench_reports", "--changes", "5")


def test_bench_sweep_moves_clocks_only_with_yes_and_raises_alerts(tiny):
    from cases.models import Alert, CaseDeadline

    due_before = sorted(CaseDeadline.objects.values_list("due_at", flat=True))
    assert "pass --yes" in _refused("bench_sweep")
    assert sorted(CaseDeadline.objects.values_list("due_at", flat=True)) == due_before
    alerts = Alert.objects.count()
    rows = _run("bench_sweep", "--yes", "--due-percent", "50")
    assert rows[0]["target_ms"] == 1000 and "marked" in rows[0]["note"]
    assert Alert.objects.count() > alerts


def test_bench_audit_calendar_import_notices_webhooks_retention_run(tiny):
    assert _run("bench_audit")[0]["name"].startswith("audit verify")
    assert _run("bench_calendar", "--repeat", "3")
    assert "pass --yes" in _refused("bench_import", "--rows", "5")
    assert _run("bench_import", "--rows", "5", "--yes")[0]["name"] == "import_complaints (import)"
    assert "pass --yes" in _refused("bench_notices", "--notices", "3")
    assert _run("bench_notices", "--notices", "3", "--yes")
    assert "pass --yes" in _refused("bench_webhooks", "--events", "3")
    assert _run("bench_webhooks", "--events", "3", "--sends", "2", "--yes")
    assert "pass --yes" in _refused("bench_retention")
    assert _run("bench_retention", "--yes", "--past", "10")


def test_bench_intake_runs_sync_workers_without_threads(tiny):
    bench_intake = importlib.import_module("bench.bench_intake")
    with pytest.raises(SystemExit):  # argparse: --threads is for gthread only
        bench_intake.run(["--worker-class", "sync", "--threads", "2"])
    if connection.vendor != "postgresql":
        pytest.skip("bench_intake measures gunicorn on PostgreSQL")
    assert "pass --yes" in _refused("bench_intake", "--worker-class", "sync")


def test_bench_notice_kills_needs_redis_and_postgres():
    if connection.vendor != "postgresql" or not os.environ.get(
            "CELERY_BROKER_URL", "").startswith("redis"):
        pytest.skip("bench_notice_kills kills Celery workers on Redis and PostgreSQL")
    with pytest.raises(SystemExit, match="pass --yes"):
        importlib.import_module("bench.bench_notice_kills").run([])


def test_run_all_prints_one_table_and_writes_json_to_compare(tiny, tmp_path, capsys):
    from bench import run_all

    rows = run_all.run(["--runs", "1", "--json", str(tmp_path / "a.json")])
    out = capsys.readouterr().out
    assert "desk list, page 1" in out and "KPI dashboard page, year" in out
    assert "skipped: it moves clocks" in out  # no --yes: the sweep is not run
    assert any(r["name"].startswith("seeding 30 cases") for r in rows)
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["cases"] == 30 and len(saved["rows"]) == len(rows)
    run_all.run(["--runs", "1", "--yes", "--compare", str(tmp_path / "a.json")])
    out = capsys.readouterr().out
    assert "deadline sweep, 1 % due, alerts included" in out and "x " in out


def test_a_script_refuses_an_unmigrated_database_with_exit_2(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "complaints_project.settings.test"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_desk.py")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "unapplied migrations" in done.stderr
