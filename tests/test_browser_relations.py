"""In a real browser: merge a duplicate into a primary case from the workspace, read the
primary's timeline, undo the merge; select cases on the list and assign them to me in bulk.
Screenshots go to test-artifacts/. Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import re

import pytest

from cases.choices import Role, Stage, Tier
from cases.models import Case, CaseMerge
from cases.services import case_add_note, case_triage
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_desk import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merge_from_the_workspace_then_undo(django_db_setup, live_server, browser,
                                           artifacts_dir):
    agent = UserFactory(username="merge-agent", role=Role.FRONTLINE, language="en",
                        display_name="Agent Merge")
    primary = CaseFactory(phone="13900000077", email="zhao@example.com")
    duplicate = CaseFactory(phone="13900000077", email="zhao@example.com")
    case_add_note(actor=agent, case_id=duplicate.pk, body="Second call: same parcel")
    context, tab = _login(browser, live_server.url, agent.username, "en")
    try:
        tab.goto(f"{live_server.url}/desk/cases/{duplicate.pk}/")
        tab.click("[data-testid=merge-link]")
        tab.fill("#id_primary", primary.reference)
        tab.locator("[data-testid=merge-form] button[type=submit]").click()
        tab.wait_for_url(re.compile(rf"/desk/cases/{primary.pk}/"))
        timeline = tab.locator("[data-testid=timeline]")
        assert "Second call: same parcel" in timeline.inner_text()
        assert f"from {duplicate.reference}" in timeline.inner_text()
        assert tab.locator(f"[data-merged='{duplicate.reference}']").count() == 1
        tab.screenshot(path=str(artifacts_dir / "relations_01_primary_after_merge.png"),
                       full_page=True)
        assert Case.objects.get(pk=duplicate.pk).stage == Stage.INVALID

        tab.locator(f"[data-merged='{duplicate.reference}'] [data-testid=undo-merge]").click()
        tab.wait_for_url(re.compile(rf"/desk/cases/{duplicate.pk}/$"))
        assert "Second call: same parcel" in tab.locator("[data-testid=timeline]").inner_text()
        tab.screenshot(path=str(artifacts_dir / "relations_02_duplicate_after_undo.png"),
                       full_page=True)
        assert Case.objects.get(pk=duplicate.pk).stage == Stage.RECEIVED
        assert CaseMerge.objects.get().undone_at is not None
    finally:
        context.close()


def test_bulk_assign_to_me_from_the_list(django_db_setup, live_server, browser, artifacts_dir):
    agent = UserFactory(username="bulk-agent", role=Role.FRONTLINE, language="en")
    cases = [CaseFactory(actor=agent, channel_kind="hotline") for _ in range(2)]
    for case in cases:
        case_triage(actor=agent, case_id=case.pk, urgency=case.urgency, scope=case.scope,
                    difficulty=case.difficulty, tier=Tier.ROUTINE)
    context, tab = _login(browser, live_server.url, agent.username, "en")
    try:
        tab.goto(f"{live_server.url}/desk/cases/")
        boxes = [tab.locator(f"tr[data-case='{c.reference}'] input.case-check") for c in cases]
        for box in boxes:
            box.check()
        # Choosing the action must not reload the table and lose the ticks (the filter form
        # refreshes the list on its own selects only).
        tab.select_option("#id_bulk_action", "triage")
        tab.select_option("#id_bulk_action", "assign_me")
        tab.wait_for_timeout(1000)
        assert all(box.is_checked() for box in boxes)
        tab.click("[data-testid=bulk-apply]")
        tab.wait_for_selector("[data-testid=bulk-done]")
        done = tab.locator("[data-testid=bulk-done]").inner_text()
        assert all(c.reference in done for c in cases)
        tab.screenshot(path=str(artifacts_dir / "relations_03_bulk_result.png"), full_page=True)
        assert Case.objects.filter(handler=agent, stage=Stage.ASSIGNED).count() == 2
    finally:
        context.close()
