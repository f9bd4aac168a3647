"""A real browser shows a working-time countdown on the desk list and in the workspace, and
the page's script leaves the server's working-hours text alone (issue 14).

Skipped with a reason when Debian's chromium is missing (see tests/conftest.py)."""

from __future__ import annotations

import re
from datetime import time

import pytest

from cases import services
from cases.choices import Basis, Clock, Role, Tier
from cases.models import ClockBasis, DeskSettings, SlaPolicy, WorkCalendar
from tests.factories import UserFactory
from tests.test_intake_service import data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def test_the_desk_shows_a_working_hours_countdown(
    django_db_setup, browser_env, live_server, browser, artifacts_dir
):
    # A manual round-the-clock calendar: working time = wall time whatever day the test runs,
    # so the countdown text is known ("2 working hours" for the 120-minute assignment clock).
    always = WorkCalendar.objects.create(code="always", name="全天", name_en="Round the clock",
                                         time_zone="Asia/Shanghai")
    for weekday in range(7):
        always.periods.create(weekday=weekday, start=time(0), end=time(0))
    DeskSettings.objects.filter(pk=1).update(default_calendar=always)
    ClockBasis.objects.create(policy=SlaPolicy.objects.get(tier=Tier.ROUTINE),
                              clock=Clock.ASSIGN, basis=Basis.WORKING)
    case = services.case_intake(actor=None, data=data()).case
    assert case.next_due_calendar_id == always.pk
    boss = UserFactory(username="wt-boss", role=Role.SUPERVISOR, language="en",
                       time_zone="Asia/Shanghai")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", boss.username)
        page.fill("#id_password", "pass12345")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/desk/$"))
        page.goto(f"{live_server.url}/desk/cases/")
        due = page.locator(f'tr[data-case="{case.reference}"] [data-basis="working"]')
        due.wait_for()
        page.wait_for_load_state("load")  # desk.js has ticked once
        assert re.search(r"\b2 working hours\b", due.inner_text()), due.inner_text()
        page.screenshot(path=str(artifacts_dir / "worktime_desk_list.png"), full_page=True)
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        assign = page.locator('[data-testid=deadlines] [data-clock="assign"]')
        assert assign.get_attribute("data-basis") == "working"
        assert "working hours" in assign.inner_text() and "working time" in assign.inner_text()
        page.screenshot(path=str(artifacts_dir / "worktime_workspace.png"), full_page=True)
    finally:
        context.close()
