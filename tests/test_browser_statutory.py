"""A real browser: the handler of a banking complaint requests a statutory extension in the
workspace, a supervisor approves it there, and the statutory due date moves (English and
Chinese; screenshots go to test-artifacts/).

Skipped with a reason when Debian's chromium is missing (see tests/conftest.py)."""

from __future__ import annotations

import re

import pytest

from cases import services
from cases.choices import Category, ChannelKind, Role, Stage
from cases.models import Case, Notice
from cases.models.notices import NoticeKind
from cases.models.statutory import ExtensionStatus
from cases.services.statutory import due_label
from tests.factories import UserFactory, advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The regime's name is data in both languages; "Approved" is a catalogue word already.
PANEL_WORDS = {"en": ("Banking and insurance consumer complaints", "15 days", "Approved"),
               "zh-hans": ("银行保险机构消费投诉处理", "15", "已批准")}


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


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


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_extension_request_and_approval_in_the_workspace(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, language
):
    base = live_server.url
    agent = UserFactory(username=f"stat-agent-{language}", role=Role.FRONTLINE,
                        language=language, time_zone="Asia/Shanghai")
    boss = UserFactory(username=f"stat-boss-{language}", role=Role.SUPERVISOR,
                       language=language, time_zone="Asia/Shanghai")
    case = services.case_intake(actor=None, data=services.IntakeData(
        customer=services.CustomerData(name="王芳", phone="13800138000"),
        channel=ChannelKind.WEB, category=Category.BILLING, subject="信用卡年费争议",
        description="未经同意收取年费。", regime="cn-banking-insurance",
        regulator_reference=f"NFRA-{language}")).case
    case = advance(case, Stage.IN_PROGRESS, handler=agent)
    first_due = case.statutory_due_at
    case_url = f"{base}/desk/cases/{case.pk}/"
    shot = lambda page, name: page.screenshot(  # noqa: E731
        path=str(artifacts_dir / f"statutory_{language}_{name}.png"), full_page=True)

    agent_ctx, agent_page = _login(browser, base, agent.username, language)
    boss_ctx, boss_page = _login(browser, base, boss.username, language)
    try:
        agent_page.goto(case_url)
        panel = agent_page.locator("[data-testid=statutory]")
        words = PANEL_WORDS[language]
        assert words[0] in panel.inner_text() and words[1] in panel.inner_text()
        assert due_label(first_due) in panel.inner_text(), panel.inner_text()
        agent_page.fill("#extension-reason", "需调取第三方机构的交易记录")
        agent_page.click("[data-testid=request-extension] button[type=submit]")
        agent_page.wait_for_selector("[data-extension][data-status=pending]")
        assert agent_page.locator("[data-testid=decide-extension]").count() == 0
        shot(agent_page, "01_requested")

        boss_page.goto(case_url)
        boss_page.fill("[data-testid=decide-extension] input[name=note]", "同意延期")
        boss_page.click("[data-testid=decide-extension] button[value=approve]")
        boss_page.wait_for_selector("[data-extension][data-status=approved]")
        shot(boss_page, "02_approved")
        case.refresh_from_db()
        new_due = due_label(case.statutory_due_at)
        panel_text = boss_page.inner_text("[data-testid=statutory-due]")
        assert new_due in panel_text and case.statutory_due_at > first_due
        assert words[2] in boss_page.inner_text("[data-testid=statutory]")
        assert case.extensions.get().status == ExtensionStatus.APPROVED
        assert Notice.objects.filter(case=case, kind=NoticeKind.EXTENSION).count() == 1
        assert Case.objects.get(pk=case.pk).extensions_approved == 1
    finally:
        agent_ctx.close()
        boss_ctx.close()
