"""Database timeouts: web requests get a short statement and lock timeout, workers and
management commands long ones; a case row held by someone else answers "busy, try again"
within the lock timeout on the desk, the board and the API, and nothing changes.

The settings tests run anywhere; the lock and timeout tests need PostgreSQL (SQLite has no
row locks or timeouts) and skip with the reason otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.urls import reverse

from cases import services
from cases.choices import NoteKind, Stage
from cases.models import Case, CaseNote, CollaborationNote
from cases.services import collaboration as collab
from channels.api_errors import api_exception_handler
from complaints_project.settings.env import database_from_url, postgres_timeouts, process_kind
from tests.factories import CaseFactory, root_cause

ROOT = Path(__file__).resolve().parent.parent
BUSY = "Someone else is saving this case right now; try again in a moment."
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and timeouts need PostgreSQL: set DATABASE_URL=postgres://...")


@contextmanager
def case_locked(case_id: int) -> Iterator[None]:
    """Hold the case row lock from another connection (another request, mid-save) for the
    duration of the block."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=case_id)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10), "the other connection could not lock the case"
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "kind"), [
    (["/srv/venv/bin/gunicorn", "complaints_project.wsgi"], "web"),
    (["manage.py", "runserver"], "web"),
    (["/srv/venv/bin/pytest", "tests"], "web"),
    (["/srv/venv/bin/celery", "-A", "complaints_project", "worker"], "background"),
    (["/srv/venv/bin/celery", "-A", "complaints_project", "beat"], "background"),
    (["/usr/lib/python3/site-packages/celery/__main__.py", "worker"], "background"),
    (["manage.py", "kpi_summaries", "--rebuild"], "background"),
    (["/srv/venv/bin/django-admin", "migrate"], "background"),
    (["bench/bench_sweep.py", "--cases", "1000000"], "background"),
    (["/srv/venv/bin/uvicorn", "complaints_project.asgi:application"], "web"),
    ([], "web"),
])
def test_process_kind_picks_the_timeout_profile(monkeypatch, argv, kind):
    monkeypatch.delenv("DB_TIMEOUT_PROFILE", raising=False)
    assert process_kind(argv) == kind


def test_the_profile_can_be_forced(monkeypatch):
    monkeypatch.setenv("DB_TIMEOUT_PROFILE", "background")
    assert process_kind(["/srv/venv/bin/gunicorn"]) == "background"


def test_postgres_connections_carry_both_timeouts(tmp_path):
    timeouts = postgres_timeouts(15000, 2000)
    config = database_from_url("postgres://u@db/complaints?sslmode=require", tmp_path, timeouts)
    assert config["OPTIONS"] == {
        "sslmode": "require", "options": "-c statement_timeout=15000 -c lock_timeout=2000"}
    kept = database_from_url("postgres://u@db/c?options=-c%20search_path%3Dx", tmp_path, timeouts)
    assert kept["OPTIONS"]["options"] == (
        "-c search_path=x -c statement_timeout=15000 -c lock_timeout=2000")
    sqlite = database_from_url("sqlite:///db.sqlite3", tmp_path, timeouts)
    assert "options" not in sqlite["OPTIONS"]


def test_the_api_answers_busy_as_json_409_with_retry_after():
    response = api_exception_handler(services.CaseBusy(BUSY), {})
    assert response.status_code == 409
    assert response.data == {"error": "busy", "detail": BUSY}
    assert response["Retry-After"] == "2"


# --- PostgreSQL ---------------------------------------------------------------------------------

@needs_postgres
@pytest.mark.django_db
def test_web_requests_run_with_the_short_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement = cursor.fetchone()[0]
        cursor.execute("SHOW lock_timeout")
        lock = cursor.fetchone()[0]
    assert (statement, lock) == ("15s", "2s")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    name = connection.settings_dict["NAME"]
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    full_env = {**os.environ, "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "complaints_project.settings.test", **env}
    if "DB_TIMEOUT_PROFILE" not in env:
        full_env.pop("DB_TIMEOUT_PROFILE", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_management_commands_run_with_the_background_timeouts():
    shown = _manage("shell", "-c", "from django.db import connection\n"
                    "c = connection.cursor()\n"
                    "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])\n"
                    "c.execute('SHOW lock_timeout'); print(c.fetchone()[0])")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[-2:] == ["0", "30s"]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_kpi_rebuild_is_not_cut_by_the_web_statement_timeout():
    CaseFactory.create_batch(3, stage=Stage.IN_PROGRESS)
    # A web statement timeout of 1 ms would cancel the rebuild's first query.
    result = _manage("kpi_summaries", "--rebuild", DB_STATEMENT_TIMEOUT_MS="1")
    assert result.returncode == 0, result.stdout + result.stderr



@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_web_statement_timeout_cancels_a_slow_statement_and_background_does_not():
    slow = ("from django.db import connection\n"
            "connection.cursor().execute('SELECT pg_sleep(0.3)')\nprint('done')")
    web = _manage("shell", "-c", slow, DB_TIMEOUT_PROFILE="web", DB_STATEMENT_TIMEOUT_MS="50")
    assert web.returncode != 0 and "statement timeout" in web.stderr
    background = _manage("shell", "-c", slow, DB_STATEMENT_TIMEOUT_MS="50")
    assert background.returncode == 0 and "done" in background.stdout


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_case_answers_busy_on_the_desk_within_seconds(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    url = reverse("desk:case_action", args=[case.pk, "resolve"])
    data = {"version": case.version, "solution": "补发", "root_cause": root_cause().pk}
    with case_locked(case.pk):
        started = time.monotonic()
        response = client.post(url, data)
        waited = time.monotonic() - started
    assert waited < 3.5
    assert response.status_code == 302 and BUSY in _messages(response)
    case.refresh_from_db()
    assert case.stage == Stage.IN_PROGRESS and not case.solution
    assert not case.transitions.filter(name="resolve").exists()
    # Once the other save is done, the same action goes through.
    assert client.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.RESOLVED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_case_keeps_the_typed_note_and_says_busy(client, frontline):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    with case_locked(case.pk):
        response = client.post(reverse("desk:case_note", args=[case.pk]),
                               {"kind": NoteKind.INTERNAL, "body": "客户来电催促"})
    assert response.status_code == 400
    assert BUSY in response.context["note_form"].non_field_errors()
    assert response.context["note_form"]["body"].value() == "客户来电催促"
    assert not CaseNote.objects.filter(case=case, body="客户来电催促").exists()


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_case_answers_busy_on_the_board(client, dept_tree, frontline):
    frontline.department = dept_tree["cs"]
    frontline.save(update_fields=["department"])
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline)
    req = collab.request_create(actor=frontline, case_id=case.pk,
                                department=dept_tree["logistics"], ask="核实物流轨迹")
    liaison = dept_tree["logistics"].liaison
    client.force_login(liaison)
    with case_locked(case.pk):
        started = time.monotonic()
        response = client.post(reverse("board:note_add", args=[req.pk]), {"body": "已查询"})
        waited = time.monotonic() - started
    assert waited < 3.5
    assert response.status_code == 302 and BUSY in _messages(response)
    assert not CollaborationNote.objects.filter(request=req).exists()


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_service_rolls_back_and_raises_case_busy(supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    with case_locked(case.pk), pytest.raises(services.CaseBusy):
        services.case_add_note(actor=supervisor, case_id=case.pk, body="x",
                               kind=NoteKind.INTERNAL)
    # The connection is usable again at once (the failed transaction was rolled back).
    assert Case.objects.filter(pk=case.pk, stage=Stage.IN_PROGRESS).exists()
    assert not CaseNote.objects.filter(case=case, body="x").exists()
