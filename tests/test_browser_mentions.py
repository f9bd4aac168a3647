"""In a real browser: an agent types "@age" in a note, picks a colleague from the
autocomplete, adds the note; the colleague finds the alert and it opens the note. A liaison's
board message offers the request's department and never another department."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.choices import Stage
from cases.models import Alert
from cases.services import collaboration as collab
from tests.factories import CaseFactory
from tests.test_browser_board import login as board_login
from tests.test_browser_desk import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mention_autocomplete_alerts_the_colleague(django_db_setup, browser_env, browser,
                                                   live_server, artifacts_dir, dept_tree,
                                                   frontline, frontline2):
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline, subject="Parcel lost")
    req = collab.request_create(actor=frontline, case_id=case.pk,
                                department=dept_tree["logistics"], ask="Check the courier scan")
    base = live_server.url

    context, page = _login(browser, base, "agent", "en")
    page.goto(f"{base}/desk/cases/{case.pk}/")
    form = page.get_by_test_id("note-form")
    form.locator("input[value=internal]").check()
    area = form.locator("textarea[name=body]")
    area.click()
    area.press_sequentially("Please check @age")
    menu = form.get_by_test_id("mention-menu")
    expect(menu.locator("button[data-value=agent2]")).to_be_visible()
    expect(menu.locator("button[data-value=sales]")).to_have_count(0)  # no request on the case
    page.screenshot(path=str(artifacts_dir / "mention_autocomplete.png"), full_page=False)
    menu.locator("button[data-value=agent2]").click()
    expect(area).to_have_value("Please check @agent2 ")
    area.press_sequentially("the refund")
    form.get_by_role("button", name="Add").click()

    expect(page.get_by_text("Alerted:")).to_be_visible()
    badge = page.locator("#timeline [data-mention=user]").first
    expect(badge).to_have_text("@agent2")
    alert = Alert.objects.get(recipient=frontline2, kind="mention")
    assert alert.link.endswith(f"#note-{alert.link.rsplit('-', 1)[1]}")

    # The colleague sees the alert on the desk home; it opens the note's anchor.
    context.close()
    context, page = _login(browser, base, "agent2", "en")
    link = page.locator(f"a[href='{alert.link}']").first
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(f"{base}{alert.link}")
    expect(page.locator(f"#{alert.link.split('#')[1]}")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "mention_alert_opened.png"), full_page=False)

    # A liaison's message on the board: the autocomplete keyboard works and offers their own
    # department, never another one.
    context.close()
    context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    board_login(page, base, "logistics-liaison")
    page.goto(f"{base}/board/requests/{req.pk}/")
    board_form = page.get_by_test_id("board-note-form")
    board_area = board_form.locator("textarea[name=body]")
    board_area.click()
    board_area.press_sequentially("@s")
    board_menu = board_form.get_by_test_id("mention-menu")
    expect(board_menu).to_be_hidden()  # "sales" is not theirs to name here
    board_area.press("Backspace")
    board_area.press_sequentially("log")
    expect(board_menu.locator("button[data-value=logistics]")).to_be_visible()
    expect(board_menu.locator("button")).to_have_count(2)  # their liaison user, their dept
    board_area.press("ArrowDown")  # from the liaison to the department
    expect(board_menu.locator("button.active")).to_have_attribute("data-value", "logistics")
    board_area.press("Enter")
    expect(board_area).to_have_value("@logistics ")
    context.close()
