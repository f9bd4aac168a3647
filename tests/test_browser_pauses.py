"""A real browser pauses a case from the workspace with a lawful reason and resumes it: the
header says since when and why, the desk list shows the paused badge, the clocks show as
paused, and the resume moves them on. In English and in Chinese; screenshots go to
test-artifacts/. Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import pytest

from cases.choices import Role, Stage
from cases.models import CasePause, PauseEnd, PauseReason
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_desk import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = {"en": "Waiting for the complainant's materials", "zh-hans": "等待投诉人补充材料"}


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_handler_pauses_and_resumes_a_case_in_the_workspace(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, language
):
    # A transactional test's database was flushed: the seeded reason is written again.
    PauseReason.objects.get_or_create(code="customer_materials", defaults={
        "name": "等待投诉人补充材料", "name_en": "Waiting for the complainant's materials",
        "max_days": 30, "clocks": ["response", "solution", "progress"],
        "resumes_on_customer_reply": True})
    agent = UserFactory(username=f"pause-agent-{language}", role=Role.FRONTLINE,
                        language=language, time_zone="Asia/Shanghai")
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    shot = lambda page, name: page.screenshot(  # noqa: E731
        path=str(artifacts_dir / f"pause_{language}_{name}.png"), full_page=True)
    context, page = _login(browser, live_server.url, agent.username, language)
    try:
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        form = page.locator("[data-testid=pause-form]")
        form.locator("select[name=reason]").select_option("customer_materials")
        form.locator("textarea[name=note]").fill("请客户补充购物凭证和照片")
        shot(page, "01_form")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=pause-current]")
        header = page.locator("[data-testid=header-paused]").inner_text()
        assert REASON[language] in header and "2" in header  # the reason and the date
        assert page.locator("[data-clock=solution].sla-paused").count() == 1
        shot(page, "02_paused")
        page.goto(f"{live_server.url}/desk/cases/?queue=all")
        assert page.locator(f"tr[data-case='{case.reference}'] [data-paused]").count() == 1
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        page.locator("[data-testid=resume-form] button").click()
        page.wait_for_selector("[data-testid=pause-history]")
        assert page.locator("[data-testid=header-paused]").count() == 0
        assert page.locator("[data-testid=pause-form]").count() == 1  # may pause again
        shot(page, "03_resumed")
    finally:
        context.close()
    pause = CasePause.objects.get(case=case)
    assert pause.ended_how == PauseEnd.HANDLER and pause.ended_by == agent
