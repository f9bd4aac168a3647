"""Two browsers on the live desk: the second sees the case list update within the refresh
interval after the first changes a case (no reload), sees who else has the case open, and
is warned before a save that would conflict.

Skipped with a reason when Debian's chromium is missing (see tests/conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.choices import Role, Stage
from cases.models import Case
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_desk import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTERVAL = 2  # seconds between checks in this test (settings.LIVE_POLL_SECONDS)


def test_second_browser_sees_the_list_update_presence_and_the_conflict(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, settings
):
    settings.LIVE_POLL_SECONDS = INTERVAL
    base = live_server.url
    boss = UserFactory(username="live-boss", role=Role.SUPERVISOR, language="en",
                       display_name="Boss Li")
    agent = UserFactory(username="live-agent", role=Role.FRONTLINE, language="en",
                        display_name="Agent Wu")
    case = CaseFactory()
    boss_ctx, boss_page = login(browser, base, boss.username, "en")
    agent_ctx, agent_list = login(browser, base, agent.username, "en")
    try:
        # The boss has the case open; the agent watches the team queue and opens the case's
        # triage form in a second tab.
        boss_page.goto(f"{base}/desk/cases/{case.pk}/")
        agent_list.goto(f"{base}/desk/cases/?queue=team")
        row_stage = agent_list.locator(f'tr[data-case="{case.reference}"] [data-stage]')
        assert row_stage.get_attribute("data-stage") == Stage.RECEIVED
        agent_list.evaluate("window.__sameDocument = true")
        agent_form = agent_ctx.new_page()
        agent_form.goto(f"{base}/desk/cases/{case.pk}/do/triage/")
        expect(agent_form.locator("[data-presence-names]")).to_contain_text("Boss Li",
                                                                            timeout=10_000)
        agent_form.screenshot(path=str(artifacts_dir / "live_presence.png"), full_page=True)

        # The boss triages the case.
        boss_page.click("[data-action=triage]")
        boss_page.wait_for_selector("[data-testid=action-form]")
        boss_page.click("[data-testid=submit-action]")
        boss_page.wait_for_selector("[data-testid=action-form]", state="detached")  # panel closed
        boss_page.wait_for_selector("[data-testid=case-header]")
        assert Case.objects.get(pk=case.pk).stage == Stage.TRIAGED

        # The agent's list shows it within the interval (plus the page fetch), same document.
        expect(row_stage).to_have_attribute("data-stage", Stage.TRIAGED,
                                            timeout=(INTERVAL + 4) * 1000)
        assert agent_list.evaluate("window.__sameDocument") is True
        agent_list.screenshot(path=str(artifacts_dir / "live_list_updated.png"),
                              full_page=True)

        # The agent starts on the stale triage form: the warning shows before the save, and
        # the first submit is held back to show it.
        form_url = agent_form.url
        agent_form.focus("#id_note")
        banner = agent_form.locator("[data-presence-conflict]")
        banner.wait_for(state="visible", timeout=10_000)
        assert "Boss Li changed this case" in banner.inner_text()
        agent_form.click("[data-testid=submit-action]")
        agent_form.wait_for_timeout(500)
        assert agent_form.url == form_url
        agent_form.screenshot(path=str(artifacts_dir / "live_conflict.png"), full_page=True)
    finally:
        boss_ctx.close()
        agent_ctx.close()


def test_agent_marks_away_and_names_the_employee_complained_about(
    django_db_setup, browser_env, live_server, browser, artifacts_dir
):
    from cases.models import AgentProfile

    base = live_server.url
    agent = UserFactory(username="live-away", role=Role.FRONTLINE, language="en",
                        display_name="Agent Zhao")
    accused = UserFactory(username="live-accused", role=Role.FRONTLINE, display_name="Clerk Qian")
    case = CaseFactory()
    context, page = login(browser, base, agent.username, "en")
    try:
        page.goto(f"{base}/desk/preferences/")
        page.click("[data-testid=toggle-away]")
        page.wait_for_selector("[data-testid=availability] .text-bg-secondary")
        assert AgentProfile.objects.get(user=agent).away
        page.screenshot(path=str(artifacts_dir / "live_away.png"), full_page=True)

        page.goto(f"{base}/desk/cases/{case.pk}/")
        page.click("[data-testid=recusal] a")
        page.select_option("#id_complained_employee", str(accused.pk))
        page.click("[data-testid=recusal-form] button[type=submit]")
        page.wait_for_selector("[data-testid=case-header]")
        assert "Clerk Qian" in page.inner_text("[data-testid=recusal]")
        page.screenshot(path=str(artifacts_dir / "live_recusal.png"), full_page=True)
    finally:
        context.close()
