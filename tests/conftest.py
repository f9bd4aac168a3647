"""Shared fixtures: users per role, and Playwright pointed at Debian's Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cases.choices import Role
from tests.factories import UserFactory

# The hand-computed KPI fixture set (``facts``), shared by the reporting tests.
pytest_plugins = ["tests.kpi_facts"]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request that switched it (a user's
    preference) leaves it active in the thread, which would change later tests' texts."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty default cache: rate-limit counters (all tests come
    from one address) and cached keys do not carry over from an earlier test."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def fresh_desk_config():
    """Each test reads the desk configuration its own database holds (tests change the rows
    with ``QuerySet.update``, which sends no signal to drop the process's copy)."""
    from cases.services import desk_config
    from cases.worktime import calendars

    desk_config.forget()
    calendars.forget()
    yield
    desk_config.forget()
    calendars.forget()


@pytest.fixture
def sms_folder(settings, tmp_path: Path) -> Path:
    """SMS and WeChat notices written by the file backends into a temporary folder."""
    settings.NOTICE_FILE_PATH = str(tmp_path)
    settings.COMPLAINTS_SMS_BACKEND = "cases.notice_backends.FileSmsBackend"
    settings.COMPLAINTS_WECHAT_BACKEND = "cases.notice_backends.FileWeChatBackend"
    return tmp_path


@pytest.fixture
def frontline(db):
    return UserFactory(username="agent", role=Role.FRONTLINE)


@pytest.fixture
def frontline2(db):
    return UserFactory(username="agent2", role=Role.FRONTLINE)


@pytest.fixture
def senior(db):
    return UserFactory(username="senior", role=Role.SENIOR)


@pytest.fixture
def supervisor(db):
    return UserFactory(username="boss", role=Role.SUPERVISOR)


@pytest.fixture
def liaison(db):
    return UserFactory(username="liaison", role=Role.LIAISON)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ops", role=Role.ADMIN, is_staff=True, is_superuser=True)


# --- browser tests ----------------------------------------------------------------------------
def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not chromium_available():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"],
    }


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Playwright's sync API runs an event loop in the test thread; Django must allow sync database
# calls beside it, including in pytest-django's flush after a transactional test (which runs
# after function fixtures are torn down), so this is set for the whole session.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_env():
    """Kept for the browser tests that ask for it; the variable is set session-wide above."""


def pytest_collection_modifyitems(config, items):
    """Transactional tests (real workers, threads, live_server browsers) flush the database
    afterwards, which would take the roles, SLA policies and channels that migrations created
    away from every later test. Serialized rollback puts them back."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = marker is not None and marker.kwargs.get("transaction")
        if transactional or "live_server" in getattr(item, "fixturenames", ()):
            kwargs = dict(marker.kwargs) if marker is not None else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


# --- collaboration and the shared board (issue 5) ---------------------------------------------
@pytest.fixture
def dept_tree(db):
    """hq > {cs, operations > {logistics, sales}, product-center > product}; ``island`` is a
    root of its own. Liaisons: logistics, sales. Manager of hq: ``gm``; of operations: ``ops-mgr``.
    """
    from tests.factories import DepartmentFactory

    gm = UserFactory(username="gm", role=Role.SUPERVISOR, display_name="General manager")
    ops_mgr = UserFactory(username="ops-mgr", display_name="Operations manager")
    hq = DepartmentFactory(code="hq", name="HQ", manager=gm)
    tree = {
        "hq": hq,
        "cs": DepartmentFactory(code="cs", name="Customer service", parent=hq),
        "operations": DepartmentFactory(code="operations", name="Operations", parent=hq,
                                        manager=ops_mgr),
        "product-center": DepartmentFactory(code="product-center", name="Product centre",
                                            parent=hq),
        "island": DepartmentFactory(code="island", name="Island"),
    }
    tree["logistics"] = DepartmentFactory(code="logistics", name="Logistics",
                                          parent=tree["operations"])
    tree["sales"] = DepartmentFactory(code="sales", name="Sales", parent=tree["operations"])
    tree["product"] = DepartmentFactory(code="product", name="Product quality",
                                        parent=tree["product-center"])
    for code in ("logistics", "sales", "island"):
        liaison_user = UserFactory(username=f"{code}-liaison", role=Role.LIAISON,
                                   display_name=f"{code.title()} liaison")
        liaison_user.department = tree[code]
        liaison_user.save(update_fields=["department"])
        tree[code].liaison = liaison_user
        tree[code].save(update_fields=["liaison"])
    tree["gm"], tree["ops_mgr"] = gm, ops_mgr
    return tree


# --- intake channels (issue 3) ----------------------------------------------------------------
@pytest.fixture
def intake_env(settings, tmp_path):
    """Attachments stored in a temporary private folder; fresh rate-limit counters."""
    from django.core.cache import cache

    from channels import api

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    cache.clear()
    api._touched.clear()
    yield tmp_path / "private"
    cache.clear()


@pytest.fixture
def app_key(db):
    """(channel, clear key) for the "app" channel."""
    from channels.models import ApiKey, Channel

    channel = Channel.objects.get(code="app")
    _key, raw = ApiKey.issue(channel, label="tests")
    return channel, raw


# --- agent desk (issue 4): serialized rollback across Playwright's event loop ------------------
@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Once Playwright's sync API runs (its event loop lives for the session), Django's
    ``connections`` hands out per-context connection objects that lack the
    ``_test_serialized_contents`` captured at database creation; a transactional test after
    the first browser test then flushes the roles, SLA policies and channels and nothing puts
    them back. Keeping the serialized contents on the connection class makes every connection
    object see them, so serialized rollback restores the migration data after every browser
    test too."""
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents
    yield
