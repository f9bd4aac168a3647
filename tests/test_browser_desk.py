"""A real browser walks a case through the whole process on the desk, as a frontline agent
and a supervisor: log a hotline call, triage to tier 1, assign to a task force, first
response, progress note, resolve with a compensation above the approval threshold, supervisor
approval, feedback. Once in English and once in Chinese; screenshots go to test-artifacts/.

Skipped with a reason when Debian's chromium is missing (see tests/conftest.py)."""

from __future__ import annotations

import re

import pytest

from cases.choices import CompensationStatus, Role, Stage, Tier
from cases.models import Case, Compensation, Notice
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    """Playwright's sync API runs an event loop in this thread; Django must allow its sync
    database calls beside it until the module is done (pytest-django flushes the transactional
    test's database after the function-scoped ``browser_env`` is undone)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# Words that must appear on the case page in each language (proves the page is translated).
WORKSPACE_WORDS = {"en": "Timeline", "zh-hans": "时间线"}
SAVED_NAME = {"en": "Urgent cases", "zh-hans": "紧急投诉"}
STAGE_WORDS = {
    "en": {"triaged": "Triaged", "feedback": "Feedback given"},
    "zh-hans": {"triaged": "已分级", "feedback": "已反馈"},
}


def _login(browser, base_url, username, language):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  locale="zh-CN" if language == "zh-hans" else "en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass12345")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/desk/$"))
    return context, page


def _act(page, action):
    page.click(f"[data-action={action}]")
    page.wait_for_selector("[data-testid=action-form]")


def _submit(page):
    """Submits the step's form in the side panel: done, the panel closes (issue 16)."""
    page.click("[data-testid=submit-action]")
    page.wait_for_selector("[data-testid=action-form]", state="detached")
    page.wait_for_selector("[data-testid=case-header]")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_agent_and_supervisor_walk_a_case_through_the_desk(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, language
):
    base = live_server.url
    agent = UserFactory(username=f"walk-agent-{language}", role=Role.FRONTLINE,
                        language=language, time_zone="Asia/Shanghai", display_name="Agent Wu")
    boss = UserFactory(username=f"walk-boss-{language}", role=Role.SUPERVISOR,
                       language=language, time_zone="Asia/Shanghai", display_name="Boss Li")
    dept = DepartmentFactory(code=f"product-{language}", name="产品部", name_en="Product")
    shot = lambda page, name: page.screenshot(  # noqa: E731
        path=str(artifacts_dir / f"desk_{language}_{name}.png"), full_page=True)

    agent_ctx, agent_page = _login(browser, base, agent.username, language)
    boss_ctx, boss_page = _login(browser, base, boss.username, language)
    try:
        # 1. The agent logs a hotline call from the desk home.
        shot(agent_page, "01_home")
        agent_page.click("[data-testid=log-complaint]")
        agent_page.select_option("#id_channel", "hotline")
        agent_page.fill("#id_name", "王芳")
        agent_page.fill("#id_phone", "13800138000")
        agent_page.select_option("#id_category", "product_quality")
        agent_page.fill("#id_subject", "电热水壶底座冒烟")
        agent_page.fill("#id_description", "使用第二天底座冒烟并有焦味，担心安全。")
        agent_page.select_option("#id_urgency", "emergency")
        agent_page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
        agent_page.wait_for_selector("[data-testid=case-header]")
        reference = agent_page.inner_text("[data-testid=case-reference]").strip()
        case = Case.objects.get(reference=reference)
        case_url = f"{base}/desk/cases/{case.pk}/"
        assert WORKSPACE_WORDS[language] in agent_page.content()
        shot(agent_page, "02_logged")

        # 2. Triage to tier 1 (the suggestion from "emergency" is tier 1 already).
        _act(agent_page, "triage")
        agent_page.select_option("#id_tier", str(Tier.URGENT))
        _submit(agent_page)
        header = agent_page.inner_text("[data-testid=case-header]")
        assert STAGE_WORDS[language]["triaged"] in header
        # A tier 1 case is assigned by a supervisor: the agent has no "assign" button.
        assert agent_page.locator("[data-action=assign]").count() == 0

        # 3. The supervisor assigns a task force: the agent handles, with the product department.
        boss_page.goto(case_url)
        _act(boss_page, "assign")
        boss_page.select_option("#id_handler", str(agent.pk))
        boss_page.select_option("#id_department", str(dept.pk))
        boss_page.select_option("#id_task_force", [str(agent.pk), str(boss.pk)])
        shot(boss_page, "03_assign_form")
        _submit(boss_page)

        # 4. First response: the agent starts handling with a call summary.
        agent_page.goto(case_url)
        _act(agent_page, "start")
        agent_page.fill("#id_contact_summary", "已致电客户，请其停止使用并保留产品。")
        _submit(agent_page)

        # 5. Progress note.
        agent_page.fill("[data-testid=note-form] textarea[name=body]", "已联系产品部取回样品检测。")
        agent_page.click("[data-testid=note-form] button[type=submit]")
        agent_page.wait_for_selector("text=已联系产品部取回样品检测。")

        # 6. Resolve with a compensation above the approval threshold (500).
        _act(agent_page, "resolve")
        agent_page.fill("#id_solution", "为客户更换新品并上门取回故障产品检测。")
        agent_page.select_option("#id_root_cause", index=1)
        agent_page.select_option("#id_compensation_kind", "refund")
        agent_page.fill("#id_compensation_amount", "800")
        agent_page.fill("#id_compensation_description", "全额退款")
        _submit(agent_page)
        assert agent_page.locator("[data-compensation][data-status=proposed]").count() == 1

        # Feedback cannot name it yet: the form says why.
        _act(agent_page, "give_feedback")
        assert agent_page.locator("[data-testid=feedback-compensation] .alert-warning").count()
        shot(agent_page, "04_feedback_blocked")

        # 7. The supervisor approves the compensation on the desk.
        boss_page.goto(case_url)
        boss_page.click("[data-testid=decide-compensation] button[value=approve]")
        boss_page.wait_for_selector("[data-compensation][data-status=approved]")
        shot(boss_page, "05_approved")

        # 8. The agent gives feedback.
        agent_page.goto(case_url)
        _act(agent_page, "give_feedback")
        agent_page.fill("#id_message", "已为您更换新品并全额退款，故障产品已取回检测。")
        agent_page.fill("#id_preventive_measures", "该批次产品加严出厂检测。")
        _submit(agent_page)
        header = agent_page.inner_text("[data-testid=case-header]")
        assert STAGE_WORDS[language]["feedback"] in header
        shot(agent_page, "06_feedback_given")

        # The list shows the case; the supervisor's desk home renders with its queues.
        agent_page.goto(f"{base}/desk/cases/?queue=all")
        assert reference in agent_page.inner_text("[data-testid=case-table]")
        shot(agent_page, "07_list")

        # Saved filters: filter the list, save the filters under a name, apply them from the
        # desk home.
        agent_page.goto(f"{base}/desk/cases/?queue=all&tier=1")
        agent_page.fill("#id_saved_filter_name", SAVED_NAME[language])
        agent_page.click("[data-testid=save-filter] button[type=submit]")
        agent_page.wait_for_load_state()
        chip = agent_page.locator(f"[data-saved-filter='{SAVED_NAME[language]}']")
        assert chip.get_attribute("aria-current") == "true"
        shot(agent_page, "07b_saved_filter")
        agent_page.goto(f"{base}/desk/")
        agent_page.click(f"[data-testid=home-saved-filters] >> text={SAVED_NAME[language]}")
        agent_page.wait_for_load_state()
        assert "tier=1" in agent_page.url
        assert reference in agent_page.inner_text("[data-testid=case-table]")
        # Manage them: rename, then delete.
        agent_page.goto(f"{base}/desk/filters/")
        item = agent_page.locator(f"[data-saved-filter='{SAVED_NAME[language]}']")
        item.locator("input[name=name]").fill(SAVED_NAME[language] + " 2")
        item.locator("button[type=submit]").first.click()
        agent_page.wait_for_load_state()
        renamed = agent_page.locator(f"[data-saved-filter='{SAVED_NAME[language]} 2']")
        assert renamed.count() == 1 and item.count() == 0
        assert renamed.locator("[data-testid=saved-filter-summary]").inner_text().strip()
        shot(agent_page, "07c_saved_filter_renamed")
        renamed.locator("[data-testid=delete-saved-filter]").click()
        agent_page.wait_for_load_state()
        listed = agent_page.locator("[data-testid=saved-filter-list] [data-saved-filter]")
        assert listed.count() == 0
        boss_page.goto(f"{base}/desk/")
        assert boss_page.locator("[data-queue=breached]").count() == 1
        shot(boss_page, "08_supervisor_home")

        # On a tablet (portrait iPad Air) the pages fit the width: nothing scrolls sideways.
        agent_page.set_viewport_size({"width": 820, "height": 1180})
        for url, name in ((case_url, "09_tablet_case"), (f"{base}/desk/cases/", "10_tablet_list"),
                          (f"{base}/desk/", "11_tablet_home"),
                          (f"{base}/desk/filters/", "12_tablet_saved_filters")):
            agent_page.goto(url)
            width = agent_page.evaluate("document.documentElement.scrollWidth")
            assert width <= 820, f"{name} is {width} px wide"
            shot(agent_page, name)
    finally:
        agent_ctx.close()
        boss_ctx.close()

    case.refresh_from_db()
    assert case.stage == Stage.FEEDBACK_GIVEN and case.tier == Tier.URGENT
    assert case.owner == agent and case.handler == agent
    assert Compensation.objects.get(case=case).status == CompensationStatus.APPROVED
    assert Notice.objects.filter(case=case, kind="feedback").exists()


def test_a_long_list_says_about_how_many_and_pages_past_the_exact_count(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, monkeypatch,
):
    """Past the exact count's cap the list shows the planner's estimate and its pages go on:
    the supervisor reads "About 12,000 cases" and reaches the rows past the cap."""
    from cases import selectors
    from cases.views import desk as desk_views
    from tests.factories import CaseFactory

    monkeypatch.setattr(desk_views, "COUNT_CAP", 3)
    monkeypatch.setattr(selectors, "estimated_count", lambda qs: 12_345)
    UserFactory(username="boss-estimate", role=Role.SUPERVISOR, language="en")
    cases = [CaseFactory() for _ in range(12)]
    context, page = _login(browser, live_server.url, "boss-estimate", "en")
    page.goto(f"{live_server.url}/desk/cases/?per_page=10&sort=received")
    count = page.locator("[data-testid=result-count]")
    assert "About 12,000 cases" in count.inner_text()
    assert "Page 1 of about 1,235" in page.content()
    page.locator("a[rel=next]").first.click()
    page.wait_for_url(re.compile(r"page=2"))
    shown = set(page.locator("tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)"))
    assert shown == {c.reference for c in cases[10:]}
    page.screenshot(path=str(artifacts_dir / "desk-list-estimated-count.png"), full_page=True)
    context.close()
