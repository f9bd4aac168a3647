"""A customer opens the survey link from the notice in a real browser, first submits without a
score (refused, nothing changes), then answers; the case closes and the link is used up.
Screenshots go to test-artifacts/survey_*.png. Skipped with a reason without chromium."""

from __future__ import annotations

import pytest
import time_machine

from cases.choices import Stage
from cases.models import Case, Notice
from cases.models.notices import NoticeKind
from cases.services.revisits import revisit_open_due
from tests.factories import CaseFactory, advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_answers_the_survey_in_the_browser(
    live_server, browser, artifacts_dir, frontline
):
    case = advance(CaseFactory(actor=frontline), Stage.FEEDBACK_GIVEN)
    with time_machine.travel(case.revisits.get().due_at, tick=False):
        revisit_open_due()
    link = Notice.objects.get(case=case, kind=NoticeKind.SURVEY).context["survey_url"]
    path = "/survey/" + link.rstrip("/").rsplit("/", 1)[1] + "/"
    context = browser.new_context(viewport={"width": 820, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}{path}")
        assert case.reference in page.content()
        page.screenshot(path=str(artifacts_dir / "survey_01_form.png"), full_page=True)
        # No score chosen: the browser's "required" is bypassed by novalidate; server refuses.
        page.click("button[type=submit]")
        assert Case.objects.get(pk=case.pk).stage == Stage.REVISIT
        page.check("input[name=score][value='2']")
        page.fill("textarea[name=comment]", "送货太慢")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.screenshot(path=str(artifacts_dir / "survey_02_thanks.png"), full_page=True)
        case.refresh_from_db()
        assert case.stage == Stage.FOLLOW_UP and case.satisfaction_score == 2
        page.goto(f"{live_server.url}{path}")  # the link is used up: polite, no form
        assert page.locator("input[name=score]").count() == 0
    finally:
        context.close()
