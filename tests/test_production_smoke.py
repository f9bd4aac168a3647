"""The README's production steps, end to end: production settings, PostgreSQL, Redis,
``collectstatic`` with the manifest storage, ``check --deploy``, gunicorn serving every page kind
(login, desk, case workspace, board, reports, public form, track, survey, admin, API, /healthz)
with no 5xx, and every ``{% static %}`` link those pages carry served with 200.

Needs DATABASE_URL=postgres://... (a fresh database of its own is created on that server and
dropped afterwards) and CELERY_BROKER_URL=redis://... (as .ci/run sets); otherwise skipped.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlparse

import pytest
from django.core.management.utils import get_random_secret_key

BROKER = os.environ.get("CELERY_BROKER_URL", "")
DATABASE = os.environ.get("DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo12345"  # seed_demo's password for every demo user

pytestmark = [
    pytest.mark.realservices,
    pytest.mark.skipif(not DATABASE.startswith("postgres"),
                       reason="the production path runs on PostgreSQL: set "
                              "DATABASE_URL=postgres://..."),
    pytest.mark.skipif(not BROKER.startswith("redis"),
                       reason="the production path needs Redis: set "
                              "CELERY_BROKER_URL=redis://host:port/db"),
]

# The demo data the pages need, in one process (each start of manage.py costs seconds): the
# README's seed_demo and channel_key, and the revisits seed_demo left due opened so that one
# survey link is live. Prints {"key": ..., "survey_token": ...}.
SEED_SCRIPT = """
import io, json
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from cases.choices import Stage
from cases.models import Revisit
from cases.services.revisits import revisit_open_due, survey_token_make
call_command("seed_demo", cases=20, stdout=io.StringIO())
key = io.StringIO()
call_command("channel_key", "app", label="smoke test", stdout=key, stderr=io.StringIO())
revisit_open_due(now=timezone.now() + timedelta(days=30))
revisit = (Revisit.objects.filter(case__stage=Stage.REVISIT, answered_at__isnull=True)
           .exclude(token_nonce="").order_by("pk").first())
print(json.dumps({"key": key.getvalue().strip(),
                  "survey_token": survey_token_make(revisit) if revisit else ""}))
"""


@dataclass
class Site:
    port: int
    api_key: str
    survey_token: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Browser:
    """A minimal HTTP client behind a TLS proxy: every request says X-Forwarded-Proto: https
    (as the README's proxy does), keeps cookies, follows no redirects, and records what it
    saw for the final assertions."""

    port: int
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        sent = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https",
                "Accept-Language": "en"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            sent.update({"Origin": self.origin, "Referer": self.origin + path})
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            content = raw.read()
            for header in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()},
                                content.decode("utf-8", errors="replace"))
        finally:
            conn.close()
        self.seen.append((method, path, response.status))
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, data: dict[str, str]) -> Response:
        return self.request("POST", path, urlencode(data).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf_form(self, path: str) -> tuple[Response, dict[str, str]]:
        """GET a page holding a form; return it and the hidden inputs to post back."""
        page = self.get(path)
        hidden = dict(re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        return page, hidden

    def login(self, username: str) -> None:
        _page, hidden = self.csrf_form("/accounts/login/")
        response = self.post_form("/accounts/login/", {
            **hidden, "username": username, "password": PASSWORD})
        assert response.status == 302, f"login of {username}: {response.status}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_admin(url: str):
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "postgres", password=parsed.password or None,
        dbname="postgres", autocommit=True,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """A migrated fresh database, collected static files and a running gunicorn, all under
    the production settings; torn down (gunicorn stopped, database dropped) afterwards."""
    folder = tmp_path_factory.mktemp("production")
    name = f"cd_smoke_{os.getpid()}_{secrets.token_hex(3)}"
    database_url = urlparse(DATABASE)._replace(path=f"/{name}", query="").geturl()
    env = {key: value for key, value in os.environ.items()
           if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_TASK_ALWAYS_EAGER"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod",
        "SECRET_KEY": get_random_secret_key(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": BROKER,
        "COMPLAINTS_VAR_DIR": str(folder / "var"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        # Counters in the shared Redis outlive the test: repeated runs must not be throttled.
        "INTAKE_FORM_RATE": "1000/60", "INTAKE_TRACK_RATE": "1000/60",
        "LANGUAGE_CODE": "en", "LOG_LEVEL": "WARNING",
    })

    def manage(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(process: subprocess.Popen[str]) -> str:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"{' '.join(process.args[1:])}:\n{output}"
        return output

    with _server_admin(DATABASE) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    server = migrate = None
    try:
        # migrate and collectstatic are independent: run them side by side.
        migrate = manage("migrate", "--noinput")
        finish(manage("collectstatic", "--noinput"))
        assert (folder / "var" / "staticfiles" / "staticfiles.json").is_file()
        assert "no issues" in finish(manage("check", "--deploy", "--fail-level", "WARNING"))
        finish(migrate)
        port = _free_port()
        log = folder / "gunicorn.log"
        with log.open("w") as out:  # starts while the demo data is written
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "complaints_project.wsgi",
                 "-w", "2", "-k", "gthread", "--threads", "2", "-b", f"127.0.0.1:{port}"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        seeded = json.loads(
            finish(manage("shell", "--no-imports", "-c", SEED_SCRIPT)).splitlines()[-1])
        deadline = time.monotonic() + 20
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request(
                    "HEAD", "/healthz")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
                time.sleep(0.2)
        yield Site(port=port, api_key=seeded["key"], survey_token=seeded["survey_token"],
                   log=log)
    finally:
        if migrate is not None and migrate.poll() is None:
            migrate.kill()
            migrate.wait()
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)  # gunicorn's quick shutdown
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with _server_admin(DATABASE) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def _pages(site: Site) -> tuple[list[Browser], list[Response]]:
    """Request one page of every kind as the role that sees it; return the browsers used and
    the HTML pages whose static links must resolve."""
    html: list[Response] = []

    def page(browser: Browser, path: str, status: int = 200) -> Response:
        response = browser.get(path)
        assert response.status == status, f"GET {path}: {response.status}\n{site.log_tail()}"
        if "text/html" in response.headers.get("content-type", ""):
            html.append(response)
        return response

    public = Browser(site.port)
    page(public, "/accounts/login/")
    health = page(public, "/healthz")
    assert json.loads(health.text)["status"] == "ok", health.text

    # Public form: GET, POST, the thank-you page, then /track/ with what it showed.
    _form, hidden = public.csrf_form("/complain/")
    posted = public.post_form("/complain/", {
        **hidden, "name": "Li Lei", "phone": "13912345678", "email": "",
        "preferred_channel": "sms", "category": "product_quality", "subject": "Kettle leaks",
        "order_ref": "SO-1001", "description": "The kettle leaks boiling water from the base.",
        "occurred_at": "", "desired_outcome": "Replacement", "website": "",
    })
    assert posted.status == 302, f"POST /complain/: {posted.status}\n{posted.text[-2000:]}"
    thanks = page(public, urlparse(posted.headers["location"]).path)
    reference = re.search(r'<code id="reference">([^<]+)</code>', thanks.text).group(1)
    code = re.search(r'<code id="tracking-code">([^<]+)</code>', thanks.text).group(1)
    _track, hidden = public.csrf_form(f"/track/?reference={reference}")
    tracked = public.post_form("/track/", {**hidden, "reference": reference, "code": code})
    assert tracked.status == 200 and reference in tracked.text, tracked.status
    html.append(tracked)

    if site.survey_token:
        page(public, f"/survey/{site.survey_token}/")

    # API: a channel posts a complaint and reads its status.
    body = json.dumps({
        "external_id": f"smoke-{secrets.token_hex(4)}",
        "customer": {"name": "王芳", "phone": "13800138000", "preferred_channel": "sms"},
        "category": "delivery", "subject": "订单未按时送达",
        "description": "下单五天仍未收到货。", "urgency": "routine", "scope": "individual",
        "difficulty": "frontline",
    }, ensure_ascii=False).encode()
    auth = {"Authorization": f"Bearer {site.api_key}", "Content-Type": "application/json"}
    created = public.request("POST", "/api/v1/complaints", body, auth)
    assert created.status == 201, f"API POST: {created.status} {created.text[:500]}"
    api_reference = json.loads(created.text)["reference"]
    status = public.request("GET", f"/api/v1/complaints/{api_reference}", None, auth)
    assert status.status == 200, f"API GET: {status.status} {status.text[:500]}"
    page(public, "/api/v1/docs")

    agent = Browser(site.port)
    agent.login("agent")
    page(agent, "/desk/")
    cases = page(agent, "/desk/cases/")
    case_ids = re.findall(r'href="/desk/cases/(\d+)/"', cases.text)
    assert case_ids, "the agent's case list links no case"
    page(agent, f"/desk/cases/{case_ids[0]}/")
    page(agent, "/desk/log/")
    # Issue 16: the landing per role, the styled 404, and a step's side panel over htmx.
    landed = agent.get("/")
    assert landed.status == 302 and landed.headers["location"].endswith("/desk/"), landed.status
    missing = page(agent, "/desk/cases/999999999/", 404)
    assert 'data-testid="error-page"' in missing.text
    panel = agent.request("GET", f"/desk/cases/{case_ids[0]}/do/record_contact/", None,
                          {"HX-Request": "true"})
    assert panel.status == 200 and "<html" not in panel.text, panel.status

    supervisor = Browser(site.port)
    supervisor.login("supervisor")
    page(supervisor, "/desk/")
    page(supervisor, "/reports/")
    page(supervisor, "/reports/root-causes/")
    page(supervisor, "/reports/reviews/")

    liaison = Browser(site.port)
    liaison.login("logistics")
    landed = liaison.get("/")
    assert landed.status == 302 and landed.headers["location"].endswith("/board/"), landed.status
    board = page(liaison, "/board/")
    for request_id in re.findall(r'href="/board/requests/(\d+)/"', board.text)[:1]:
        page(liaison, f"/board/requests/{request_id}/")

    admin = Browser(site.port)
    admin.login("ops")
    page(admin, "/admin/")
    page(admin, "/admin/cases/case/")
    page(admin, f"/admin/cases/case/?q={reference}")
    page(admin, f"/admin/cases/case/{case_ids[0]}/change/")
    page(admin, "/admin/channels/apikey/")
    return [public, agent, supervisor, liaison, admin], html


def test_every_page_kind_is_served_without_a_5xx_and_with_its_static_files(site):
    browsers, html = _pages(site)

    links = sorted({link for response in html for link in STATIC_LINK.findall(response.text)})
    for name in ("bootstrap.min", "bootstrap.bundle.min", "bootstrap-icons.min", "htmx.min",
                 "chart.umd.min", "desk", "reports", "inline", "shortcuts", "favicon"):
        assert any(f"/{name}." in link for link in links), f"no page links {name}: {links}"
    assets = Browser(site.port)
    icon = assets.get("/favicon.ico")
    assert icon.status == 301, icon.status
    links.append(urlparse(icon.headers["location"]).path)
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.", link), f"{link} is not from the manifest"
        response = assets.get(link)
        assert response.status == 200, f"{link}: {response.status}"
        if link.endswith(".css"):
            for target in CSS_URL.findall(response.text):
                if not target.startswith("data:"):
                    assets.get(urljoin(link, target).split("#")[0])

    assert any(".woff2" in path for _method, path, _status in assets.seen), "no icon font"
    seen = [entry for browser in [*browsers, assets] for entry in browser.seen]
    failures = [entry for entry in seen if entry[2] >= 500 or
                (entry[0] == "GET" and "/static/" in entry[1] and entry[2] != 200)]
    assert failures == [], f"{failures}\n{site.log_tail()}"
    assert len(seen) >= 30
