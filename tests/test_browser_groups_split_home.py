"""In a real browser, the pages that had HTTP tests only: the group complaints list and a
group's page (assign all its open cases), a case's split page (split a second matter off
into a new case), and the home of a user with no role (signs out). Screenshots go to
test-artifacts/. Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import re

import pytest

from cases.choices import Role, Stage
from cases.models import Case, CaseLink, ComplaintGroup, DeskSettings
from cases.services import desk_config
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_desk import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(browser, base_url: str, username: str, lands_on: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.goto(f"{base_url}/accounts/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", "pass12345")
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url(re.compile(lands_on))
    return context, tab


def test_assign_a_whole_group_from_its_page(django_db_setup, live_server, browser,
                                            artifacts_dir):
    supervisor = UserFactory(username="group-boss", role=Role.SUPERVISOR, language="en")
    senior = UserFactory(username="group-senior", role=Role.SENIOR, language="en",
                         display_name="Senior Gu")
    DeskSettings.objects.filter(pk=1).update(group_threshold=3)
    desk_config.forget()
    cases = [CaseFactory(order_ref="ORD-888", category="delivery") for _ in range(3)]
    group = ComplaintGroup.objects.get()
    context, tab = _login(browser, live_server.url, supervisor.username, "en")
    try:
        tab.goto(f"{live_server.url}/desk/groups/")
        row = tab.locator(f"[data-testid=groups] tr[data-group='{group.pk}']")
        assert row.locator("td").nth(2).inner_text().strip() == "3"  # its cases
        row.locator("a").click()
        tab.wait_for_url(re.compile(rf"/desk/groups/{group.pk}/$"))
        listed = tab.locator("[data-testid=group-cases] tr[data-case]")
        assert listed.count() == 3
        tab.screenshot(path=str(artifacts_dir / "groups_01_group_page.png"), full_page=True)

        form = tab.locator("[data-testid=group-action-form]")
        form.locator("select[name=action]").select_option("assign")
        form.locator("select[name=agent]").select_option(str(senior.pk))
        form.locator("button[type=submit]").click()
        tab.wait_for_selector("[data-testid=bulk-done]")
        done = tab.locator("[data-testid=bulk-done]").inner_text()
        assert all(c.reference in done for c in cases) and "Senior Gu" in done
        tab.screenshot(path=str(artifacts_dir / "groups_02_assign_all.png"), full_page=True)
        assert Case.objects.filter(group=group, handler=senior,
                                   stage=Stage.ASSIGNED).count() == 3
    finally:
        context.close()


def test_split_a_second_matter_off_a_case(django_db_setup, live_server, browser,
                                          artifacts_dir):
    agent = UserFactory(username="split-agent", role=Role.FRONTLINE, language="en")
    case = CaseFactory(subject="Late parcel and a wrong invoice")
    context, tab = _login(browser, live_server.url, agent.username, "en")
    try:
        tab.goto(f"{live_server.url}/desk/cases/{case.pk}/split/")
        assert case.reference in tab.locator("h1").inner_text()
        form = tab.locator("[data-testid=split-form]")
        form.locator("#id_subject").fill("Wrong invoice amount")
        form.locator("#id_description").fill("The invoice charges twice for shipping.")
        form.locator("button[type=submit]").click()
        tab.wait_for_url(re.compile(r"/desk/cases/\d+/$"))
        new = Case.objects.exclude(pk=case.pk).get()
        assert tab.url.endswith(f"/desk/cases/{new.pk}/")
        assert new.subject == "Wrong invoice amount"
        assert "Wrong invoice amount" in tab.locator("main").inner_text()
        tab.screenshot(path=str(artifacts_dir / "split_01_new_case.png"), full_page=True)
        assert CaseLink.objects.filter(from_case__in=[case, new],
                                       to_case__in=[case, new]).exists()
    finally:
        context.close()


def test_a_user_without_a_role_lands_on_home_and_signs_out(django_db_setup, live_server,
                                                            browser, artifacts_dir):
    UserFactory(username="no-role", language="en")
    context, tab = _sign_in(browser, live_server.url, "no-role", r"/home/$")
    try:
        home = tab.locator("[data-testid=account-home]")
        assert "Your account has no role yet" in home.inner_text()
        assert tab.locator("[data-testid=nav-availability]").count() == 0  # not an agent
        tab.screenshot(path=str(artifacts_dir / "home_01_no_role.png"), full_page=True)

        tab.locator("nav form[action='/accounts/logout/'] button").click()
        tab.wait_for_url(re.compile(r"/accounts/login/"))
        tab.goto(f"{live_server.url}/home/")
        tab.wait_for_url(re.compile(r"/accounts/login/\?next=/home/"))
    finally:
        context.close()


def test_an_agent_marks_away_and_back_from_the_navigation_bar(django_db_setup, live_server,
                                                             browser, artifacts_dir):
    from cases.models import AgentProfile

    agent = UserFactory(username="nav-away", role=Role.FRONTLINE, language="en")
    context, tab = _login(browser, live_server.url, agent.username, "en")
    try:
        tab.goto(f"{live_server.url}/desk/cases/")
        switch = tab.locator("[data-testid=nav-availability]")
        assert switch.get_attribute("data-away") == "0"
        switch.locator("[data-testid=nav-toggle-away]").click()
        tab.wait_for_selector("[data-testid=nav-availability][data-away='1']")
        assert tab.url.endswith("/desk/cases/")  # back on the page it was sent from
        assert tab.locator("[data-testid=nav-away-state]").inner_text().strip() == "Away"
        tab.screenshot(path=str(artifacts_dir / "nav_01_away.png"))
        assert AgentProfile.objects.get(user=agent).away

        tab.locator("[data-testid=nav-toggle-away]").click()
        tab.wait_for_selector("[data-testid=nav-availability][data-away='0']")
        assert not AgentProfile.objects.get(user=agent).away
    finally:
        context.close()
