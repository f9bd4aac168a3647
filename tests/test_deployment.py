"""The production layout (compose.yaml, Dockerfile, deploy/systemd, .env.example) and the Celery
queue routing it relies on.

Docker is not available where these tests run, so compose.yaml is checked by parsing and by
its structure (restart policies, health checks, one beat, every queue consumed, every
variable defined); the systemd units go through ``systemd-analyze verify`` when it exists. One
test needs a real Redis and PostgreSQL: a sweep runs at once while a notice backlog is queued.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings

from tests.test_worker_redis import Workers, _sms_notice, _wait_for, real_broker  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
SYSTEMD = ROOT / "deploy" / "systemd"
ONE_SHOT = {"migrate"}
SETTINGS_ENV = re.compile(r"env_(?:str|int|bool|list)\(\s*\"([A-Z0-9_]+)\"")
# Read by a program rather than by our settings.
PROCESS_ENV = {"DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY"}  # Django itself; gunicorn

EXPECTED_ROUTES = {
    "cases.tasks.send_notice_task": "notices",
    "channels.webhooks.tasks.send_webhook_task": "notices",
    "cases.tasks.outbox_redispatch_task": "sweeps",
    "cases.tasks.deadline_sweep_task": "sweeps",
    "cases.tasks.revisit_sweep_task": "sweeps",
    "cases.tasks.pause_maximum_sweep_task": "sweeps",
    "cases.tasks.retention_sweep_task": "sweeps",
    "channels.tasks.poll_mailbox_task": "imports",
    "reporting.tasks.kpi_summaries_task": "imports",
    "reporting.tasks.weekly_review_task": "imports",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else list(command)


def _workers(services: dict[str, dict]) -> dict[str, set[str]]:
    """Compose worker services and the queues each consumes."""
    found = {}
    for name, service in services.items():
        command = _command(service)
        if command[:3] == ["celery", "-A", "complaints_project"] and "worker" in command:
            flag = "--queues" if "--queues" in command else "-Q"
            assert flag in command, f"{name} consumes no explicit queue"
            found[name] = set(command[command.index(flag) + 1].split(","))
    return found


def _known_queues() -> set[str]:
    return {queue.name for queue in django_settings.CELERY_TASK_QUEUES}


def _env_file_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def _settings_env_names() -> set[str]:
    names = set()
    for module in (ROOT / "complaints_project" / "settings").glob("*.py"):
        names.update(SETTINGS_ENV.findall(module.read_text()))
    return names


# --- Routing -----------------------------------------------------------------------------------


def test_every_task_is_routed_to_a_queue_a_worker_consumes(services):
    from complaints_project.celery import app

    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in ours}

    assert routed == EXPECTED_ROUTES  # a new task needs a deliberate route (and a row here)
    consumed = set().union(*_workers(services).values())
    assert set(routed.values()) | {django_settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed


def test_beat_sends_sweeps_to_the_sweeps_queue_and_every_entry_expires():
    from complaints_project.celery import app

    for name, entry in django_settings.CELERY_BEAT_SCHEDULE.items():
        queue = app.amqp.router.route({}, entry["task"])["queue"].name
        if "sweep" in entry["task"] or "redispatch" in entry["task"]:
            assert queue == "sweeps", name
        assert queue in {"sweeps", "imports"}, name
        expires = entry.get("options", {}).get("expires")
        assert expires, f"{name}: a beat message without expires piles up after an outage"
        if isinstance(entry["schedule"], float):
            assert expires < entry["schedule"], f"{name}: expires after the next run is sent"


def test_the_embedded_worker_consumes_every_queue():
    script = (ROOT / "scripts" / "run.sh").read_text()
    match = re.search(r"celery -A complaints_project worker --beat .*?-Q (\S+)", script, re.S)
    assert match, "scripts/run.sh starts its worker without -Q"
    assert set(match.group(1).split(",")) == _known_queues()


def test_a_worker_started_without_queues_consumes_every_queue():
    from complaints_project.celery import app

    assert set(app.amqp.queues) == _known_queues()


# --- compose.yaml ------------------------------------------------------------------------------


def test_compose_has_the_production_services(services):
    assert {"postgres", "redis", "migrate", "web", "beat"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert _command(services["web"])[0] == "gunicorn"
    assert _command(services["migrate"])[-1].startswith("python manage.py migrate")


def test_every_long_running_service_restarts_and_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"].startswith("on-failure"), name
            continue
        assert service.get("restart") == "unless-stopped", name
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no healthcheck"


def test_healthchecks_probe_each_service_itself(services):
    def probe(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"][1:])

    assert probe("postgres").startswith("pg_isready")
    assert probe("redis") == "redis-cli ping"
    assert probe("web") == "python deploy/healthcheck.py web"
    for name in _workers(services):
        command = _command(services[name])
        node = command[command.index("--hostname") + 1].replace("%h", "$$HOSTNAME")
        assert f"inspect ping -d {node}" in probe(name), name


def test_app_services_wait_for_healthy_services_and_the_migration(services):
    for name, service in services.items():
        if service.get("image") in {"postgres:15", "redis:7"}:
            continue
        needs = service["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
        if name not in ONE_SHOT:
            assert needs["migrate"]["condition"] == "service_completed_successfully", name


def test_exactly_one_beat_and_no_worker_embeds_one(services):
    beats = [name for name, service in services.items() if "beat" in _command(service)[3:4]]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["beat"].get("container_name")  # compose refuses --scale beat=2
    for name in _workers(services):
        assert not {"--beat", "-B"} & set(_command(services[name])), name


def test_sweeps_and_notices_are_consumed_by_different_workers(services):
    workers = _workers(services)
    for name, queues in workers.items():
        assert queues <= _known_queues(), name
        assert not {"sweeps", "notices"} <= queues, f"{name} puts sweeps behind notices"
    assert any(queues == {"sweeps"} for queues in workers.values())


def test_every_variable_is_defined_and_read(compose):
    text = (ROOT / "compose.yaml").read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    example = _env_file_names(ROOT / ".env.example")
    read = _settings_env_names() | PROCESS_ENV

    assert interpolated <= example, "compose.yaml uses variables .env.example does not define"
    assert example <= read | interpolated, "unused variables in .env.example"
    assert "SECRET_KEY" in example
    assert "secrets.token_urlsafe" in (ROOT / ".env.example").read_text()  # how to generate
    app_environment = compose["x-app"]["environment"]
    assert set(app_environment) <= read
    systemd_env = _env_file_names(SYSTEMD / "complaints.env.example")
    assert systemd_env <= read
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY"} <= systemd_env


def test_the_image_is_slim_unprivileged_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"^RUN pip install \.$", dockerfile, re.M)
    assert "manage.py collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv"} <= set(ignored)


# --- systemd ------------------------------------------------------------------------------------


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


UNITS = ["complaints-web.service", "complaints-worker@.service", "complaints-beat.service"]


@pytest.mark.parametrize("name", UNITS)
def test_units_restart_as_a_dedicated_user_with_an_environment_file(name):
    unit = _unit(name)
    assert unit["Restart"] == ["always"]
    assert int(unit["RestartSec"][0]) > 0
    assert unit["User"] == ["complaints"]
    assert "/etc/complaints/complaints.env" in unit["EnvironmentFile"]
    assert "complaints" in (SYSTEMD / "complaints.sysusers").read_text()


def test_the_worker_unit_takes_its_queues_from_the_instance_name():
    unit = _unit("complaints-worker@.service")
    assert "--queues ${QUEUES}" in unit["ExecStart"][0]
    assert unit["Environment"] == ["QUEUES=%i CONCURRENCY=2"]
    assert _env_file_names(SYSTEMD / "worker-imports.env") >= {"QUEUES"}
    assert "QUEUES=imports,celery" in (SYSTEMD / "worker-imports.env").read_text()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify(tmp_path):
    # The commands must exist for verify: point them at this environment's.
    bin_dir = Path(sys.executable).parent
    for name in UNITS:
        text = (SYSTEMD / name).read_text().replace("/opt/complaints/.venv/bin/", f"{bin_dir}/")
        (tmp_path / name).write_text(text)
    (tmp_path / "complaints-worker@notices.service").write_text(
        (tmp_path / "complaints-worker@.service").read_text())
    names = ["complaints-web.service", "complaints-beat.service",
             "complaints-worker@notices.service"]
    result = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    # verify exits 0 on ignored (misspelt) settings but prints them: any output fails.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result


# --- Health checks -------------------------------------------------------------------------------


def _run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], capture_output=True,
                          text=True, timeout=30, env={**os.environ, **(env or {})})


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/healthz", seen
    server.shutdown()


def test_web_check_asks_as_the_tls_proxy_would(recording_server):
    url, seen = recording_server
    result = _run_check("web", url, env={"ALLOWED_HOSTS": ".example.com,complaints.example.com"})
    assert result.returncode == 0, result
    assert seen[0]["Host"] == "example.com"
    assert seen[0]["X-Forwarded-Proto"] == "https"


@pytest.mark.django_db(transaction=True)
def test_web_check_passes_on_the_real_healthz_and_fails_when_nothing_answers(
        live_server, settings):
    settings.ALLOWED_HOSTS = ["complaints.example.com"]
    env = {"ALLOWED_HOSTS": "complaints.example.com"}
    healthy = _run_check("web", f"{live_server.url}/healthz", env=env)
    assert healthy.returncode == 0, healthy
    with socket_closed_port() as port:
        down = _run_check("web", f"http://127.0.0.1:{port}/healthz",
                          env={**env, "HEALTHCHECK_TIMEOUT": "2"})
    assert down.returncode == 1 and "unhealthy" in down.stdout


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    """A local port with nothing listening on it (bound, never listened, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_beat_check_needs_a_recently_written_schedule(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    assert _run_check("beat", str(schedule)).returncode == 1
    (tmp_path / "celerybeat-schedule.db").write_bytes(b"x")  # dbm may add a suffix
    assert _run_check("beat", str(schedule)).returncode == 0
    stale = time.time() - 3600
    os.utime(tmp_path / "celerybeat-schedule.db", (stale, stale))
    assert _run_check("beat", str(schedule)).returncode == 1
    assert _run_check("nonsense").returncode == 2


# --- A notice backlog does not delay a sweep (real Redis and PostgreSQL) -------------------------

BROKER = os.environ.get("CELERY_BROKER_URL", "")
DATABASE = os.environ.get("DATABASE_URL", "")


@pytest.fixture
def queue_workers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    request.getfixturevalue("real_broker")  # flushes this test's Redis db, eager mode off
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.mark.realservices
@pytest.mark.skipif(not BROKER.startswith("redis"),
                    reason="needs a real Redis: set CELERY_BROKER_URL=redis://host:port/db")
@pytest.mark.skipif(not DATABASE.startswith("postgres"),
                    reason="the worker processes must share the test database: set "
                           "DATABASE_URL=postgres://...")
@pytest.mark.django_db(transaction=True)
def test_a_sweep_runs_at_once_behind_a_notice_backlog(queue_workers, tmp_path):
    from cases.models import Notice
    from cases.models.notices import NoticeStatus
    from cases.services.outbox import notice_dispatch
    from cases.tasks import deadline_sweep_task

    backlog = 20
    queue_workers.start(mode="before", stall=1.0, queues="notices")
    sweeper = queue_workers.start(mode="before", stall=0, queues="sweeps")
    notice_dispatch([_sms_notice().pk for _ in range(backlog)])
    _wait_for(lambda: list((tmp_path / "sms").glob("*.started")), 30, "the first send")

    deadline_sweep_task.apply_async(expires=10)  # as beat sends it
    log = queue_workers.logs[queue_workers.procs.index(sweeper)]
    _wait_for(lambda: re.search(r"deadline_sweep_task\[.*\] succeeded", log.read_text()),
              10, "the sweep to run")

    unsent = Notice.objects.exclude(status=NoticeStatus.SENT).count()
    assert unsent >= backlog // 2, "the backlog was gone before the sweep ran: nothing shown"
