"""seed_demo, /healthz, production settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from cases.choices import Category, ChannelKind, Role, Stage
from cases.models import Case, CaseDeadline, Department, User

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_seed_demo_creates_users_departments_and_consistent_cases(capsys):
    call_command("seed_demo", "--cases", "400")
    out = capsys.readouterr().out
    assert "demo12345" in out
    for role in Role.values:
        assert User.objects.filter(groups__name=role).exists(), role
    assert Department.objects.filter(liaison__isnull=False).count() == 4
    assert Department.objects.get(code="logistics").parent.code == "operations"
    assert Case.objects.count() == 400
    stages = set(Case.objects.values_list("stage", flat=True))
    assert stages >= {Stage.RECEIVED, Stage.IN_PROGRESS, Stage.RESOLVED, Stage.CLOSED,
                      Stage.FOLLOW_UP, Stage.INVALID}
    assert set(Case.objects.values_list("category", flat=True)) == set(Category.values)
    assert set(Case.objects.values_list("tier", flat=True)) >= {0, 1, 2, 3}
    assert set(Case.objects.values_list("channel", flat=True)) >= {
        ChannelKind.HOTLINE, ChannelKind.WEB, ChannelKind.APP, ChannelKind.EMAIL}
    for case in Case.objects.all():
        assert case.reference == f"TS-{case.reference[3:7]}-{case.pk:06d}"
        if case.assigned_at:
            assert case.received_at <= case.assigned_at
        if case.resolved_at:
            assert case.assigned_at <= case.resolved_at
        if case.feedback_given_at:
            assert case.resolved_at <= case.feedback_given_at
        if case.stage == Stage.CLOSED:
            # satisfied, or closed after the second follow-up (complete_follow_up)
            assert case.closed_at and (case.satisfied or case.follow_up_done_at)
    # open cases have their clocks; closed ones none running
    open_without = Case.objects.filter(stage=Stage.IN_PROGRESS).annotate(
        n=Count("deadlines")).filter(n=0)
    assert not open_without.exists()
    assert not CaseDeadline.objects.filter(case__stage=Stage.CLOSED,
                                           stopped_at__isnull=True).exists()
    # and the data continues in the real services: a demo case can be worked on
    from cases import services
    case = Case.objects.filter(stage=Stage.IN_PROGRESS).first()
    services.case_add_note(actor=User.objects.get(username="supervisor"), case_id=case.pk,
                           body="继续跟进", kind="progress")


@pytest.mark.django_db
def test_seed_demo_gives_the_board_and_its_kpi_requests_in_every_state(capsys, client):
    from cases.models import CollaborationRequest
    from cases.models.collaboration import RequestStatus
    from reporting import summaries
    from reporting.periods import LAST_12_MONTHS, resolve, today_local
    from reporting.selectors import dashboard

    call_command("seed_demo", "--cases", "1000")
    requests = CollaborationRequest.objects.select_related("case")
    assert {RequestStatus.ACCEPTED, RequestStatus.DONE} <= set(
        requests.values_list("status", flat=True))
    waiting = Case.objects.filter(stage=Stage.WAITING_DEPARTMENT)
    assert waiting.exists()
    for case in waiting:
        assert case.collaboration_requests.filter(
            status__in=[RequestStatus.OPEN, RequestStatus.ANSWERED]).exists()
    for r in requests:
        assert r.case.department_id == r.department_id and r.created_at <= r.due_at
        if r.answered_at:
            assert r.created_at <= r.answered_at
        if r.case.resolved_at:
            assert r.status == RequestStatus.DONE and r.closed_at <= r.case.resolved_at
        if r.status == RequestStatus.OPEN:
            assert r.case.stage == Stage.WAITING_DEPARTMENT
            assert CaseDeadline.objects.filter(request=r, stopped_at__isnull=True).exists()
    # a liaison sees their department's cards on the board
    liaison = User.objects.get(username="logistics")
    client.force_login(liaison)
    assert client.get("/board/").status_code == 200
    # and the department KPI has data
    summaries.refresh()
    board = dashboard(resolve(LAST_12_MONTHS, today=today_local()), timezone.now())
    line = next(x for x in board.lines if x.kpi.code == "department_response")
    assert line.denominator > 0


@pytest.mark.django_db
def test_seed_demo_if_empty_is_idempotent(capsys):
    call_command("seed_demo", "--cases", "20")
    call_command("seed_demo", "--cases", "20", "--if-empty")
    assert Case.objects.count() == 20
    call_command("seed_demo", "--cases", "10", "--append")  # adds more, new ids
    assert Case.objects.count() == 30
    assert User.objects.filter(username="agent").count() == 1


@pytest.mark.django_db
def test_seed_demo_rejects_bad_count():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", "--cases", "-5")


@pytest.mark.django_db
def test_demo_login_works(client):
    call_command("seed_demo", "--cases", "0")
    # Through the login form: the login throttle (django-axes) needs the request.
    response = client.post("/accounts/login/", {"username": "agent", "password": "demo12345"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["broker"]["ok"]


@pytest.mark.django_db
def test_healthz_503_when_broker_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_production_settings_pass_check_deploy():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod",
           "SECRET_KEY": "x" * 60 + "-production-secret-for-the-check-only",
           "ALLOWED_HOSTS": "complaints.example.com", "DATABASE_URL": "sqlite:///:memory:",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_default_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_healthz_checks_a_real_broker_when_not_eager(client, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == {"ok": True, "detail": "filesystem"}
