"""The pages issue 17 added, as a person uses them in a real browser: the password-reset flow
from the mailed link to signing in, the lockout page after failed sign-ins, and an
unverified e-mail in the case workspace. Skipped without Debian's chromium."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from cases.choices import Role, Stage
from channels.email_intake import ingest_email
from tests.factories import CaseFactory, UserFactory
from tests.test_email_sender_verification import mail as spoofed_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def _page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    return context, context.new_page()


def _sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()


def test_a_forgotten_password_is_reset_from_the_mailed_link(browser, live_server):
    UserFactory(username="amy", email="amy@example.com", role=Role.FRONTLINE)
    context, page = _page(browser)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_test_id("forgot-password").click()
    page.fill("#id_email", "amy@example.com")
    page.locator("main form button[type=submit]").click()
    page.get_by_test_id("reset-sent").wait_for()
    link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + link[link.index("/accounts/"):])
    page.fill("#id_new_password1", "a-new-Passw0rd-for-amy")
    page.fill("#id_new_password2", "a-new-Passw0rd-for-amy")
    page.locator("main form button[type=submit]").click()
    page.get_by_test_id("reset-complete").wait_for()
    _sign_in(page, live_server, "amy", "a-new-Passw0rd-for-amy")
    page.wait_for_url(re.compile(r"/desk/$"))
    context.close()


def test_repeated_wrong_passwords_show_the_lockout_page(browser, live_server, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="bob", role=Role.FRONTLINE)
    context, page = _page(browser)
    for _attempt in range(3):
        _sign_in(page, live_server, "bob", "wrong-password")
    _sign_in(page, live_server, "bob", "pass12345")  # the right one, too late
    page.get_by_test_id("login-locked").wait_for()
    assert "Sign-in locked" in page.content()
    context.close()


def test_an_unverified_e_mail_stands_out_in_the_workspace(browser, live_server, intake_env):
    agent = UserFactory(username="agent", role=Role.FRONTLINE)
    case = CaseFactory(stage=Stage.IN_PROGRESS, actor=agent, email="zhang.wei@example.com")
    assert ingest_email(spoofed_mail(case, sender="Mallory <mallory@evil.example>")
                        ).outcome == "unverified"
    context, page = _page(browser)
    _sign_in(page, live_server, "agent", "pass12345")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
    item = page.get_by_test_id("unverified-message")
    item.wait_for()
    assert "mallory@evil.example" in item.inner_text()
    context.close()
