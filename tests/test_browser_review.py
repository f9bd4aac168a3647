"""The review request 申请核查 end to end in a real browser: the customer, not satisfied,
answers the survey and asks for a review from the survey page (an empty reason is refused
first); a supervisor who did not handle the case finds it in the "reviews" queue, takes it
and changes the decision with a refund; the customer gets the result notice and /track/
shows it. Screenshots go to test-artifacts/review_*.png. Skipped without chromium."""

from __future__ import annotations

import re

import pytest
import time_machine

from cases.choices import Role, Stage
from cases.models import Case, Notice
from cases.models.notices import NoticeKind
from cases.services.revisits import revisit_open_due
from tests.factories import CaseFactory, UserFactory, advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_review_from_the_survey_page_to_a_changed_decision_on_track(
    live_server, browser, artifacts_dir, frontline
):
    case = advance(CaseFactory(actor=frontline, handler=frontline), Stage.FEEDBACK_GIVEN)
    with time_machine.travel(case.revisits.get().due_at, tick=False):
        revisit_open_due()
    link = Notice.objects.get(case=case, kind=NoticeKind.SURVEY).context["survey_url"]
    survey_path = "/survey/" + link.rstrip("/").rsplit("/", 1)[1] + "/"
    reviewer = UserFactory(username="reviewer-boss", role=Role.SUPERVISOR)
    base = live_server.url

    customer = browser.new_context(viewport={"width": 820, "height": 1000}, locale="en-US")
    customer.set_default_timeout(20_000)
    page = customer.new_page()
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    staff.set_default_timeout(20_000)
    desk = staff.new_page()
    try:
        # The customer answers "dissatisfied", then asks for a review from the survey page.
        page.goto(f"{base}{survey_path}?lang=en")
        page.check("input[name=score][value='1']")
        page.click("button[type=submit]")
        page.wait_for_selector("#ask-review")
        page.click("#ask-review")
        page.wait_for_selector("textarea[name=reason]")
        page.click("button[type=submit]")  # empty reason: refused, nothing changes
        page.wait_for_selector(".invalid-feedback")
        assert Case.objects.get(pk=case.pk).stage == Stage.FOLLOW_UP
        page.fill("textarea[name=reason]", "The replacement arrived broken as well.")
        page.screenshot(path=str(artifacts_dir / "review_01_request.png"), full_page=True)
        page.click("button[type=submit]")
        page.wait_for_selector("#review-sent")
        assert Case.objects.get(pk=case.pk).stage == Stage.REVIEW

        # A supervisor who did not handle it takes it from the reviews queue and changes it.
        desk.goto(f"{base}/accounts/login/")
        desk.fill("#id_username", reviewer.username)
        desk.fill("#id_password", "pass12345")
        desk.locator("main form button[type=submit]").click()
        desk.wait_for_url(re.compile(r"/desk/$"))
        desk.goto(f"{base}/desk/cases/?queue=reviews")
        desk.click(f"text={case.reference}")
        desk.wait_for_selector("[data-testid=review-panel]")
        desk.click("[data-action=assign_review]")
        desk.wait_for_selector("[data-testid=action-form]")
        desk.click("[data-testid=submit-action]")
        desk.wait_for_selector("[data-testid=action-form]", state="detached")  # panel closed
        desk.wait_for_selector("[data-testid=case-header]")
        desk.click("[data-action=conclude_review]")
        desk.wait_for_selector("[data-testid=action-form]")
        desk.check("input[name=outcome][value=changed]")
        desk.fill("textarea[name=reasons]", "The courier's photo shows the damage.")
        desk.fill("textarea[name=new_solution]", "Full refund of the order.")
        desk.select_option("select[name=compensation_kind]", "refund")
        desk.fill("input[name=compensation_amount]", "199.00")
        desk.screenshot(path=str(artifacts_dir / "review_02_conclude.png"), full_page=True)
        desk.click("[data-testid=submit-action]")
        desk.wait_for_selector("[data-testid=review-outcome]")
        case.refresh_from_db()
        assert case.stage == Stage.CLOSED and case.review_changed is True

        # The customer is told on their channel, and /track/ shows the result.
        notice = Notice.objects.get(case=case, kind=NoticeKind.REVIEW_RESULT)
        assert "Full refund" in notice.body and "199.00" in notice.body
        page.goto(f"{base}/track/")
        page.fill("input[name=reference]", case.reference)
        page.fill("input[name=code]", case.tracking_code)
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_selector("#track-result")
        text = page.inner_text("#track-result")
        assert "Full refund of the order." in text and "The courier's photo" in text
        assert page.locator("#review-form").count() == 0  # once per case
        page.screenshot(path=str(artifacts_dir / "review_03_track.png"), full_page=True)
    finally:
        customer.close()
        staff.close()
