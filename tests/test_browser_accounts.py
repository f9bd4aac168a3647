"""In a real browser under the enforced Content-Security-Policy: staff pages, the admin and the
public pages raise no policy violation, and what moved out of inline handlers still works
(select-all, the language switch, the print button). Skipped without Debian's chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from cases.choices import Role, Stage
from tests.factories import CaseFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects every CSP violation the page reports (script, style, image, font, connect...).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def _signed_in(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass12345")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(desk|admin)/$"))
    return context, page


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_staff_pages_and_the_admin_run_under_the_policy(browser, live_server):
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    UserFactory(username="boss", role=Role.SUPERVISOR)
    UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    CaseFactory.create_batch(3, stage=Stage.TRIAGED)

    context, page = _signed_in(browser, live_server, "boss")
    for path in ("/desk/", "/board/", "/reports/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert _violations(page) == [], path
    # Select-all (was an inline script) checks every row.
    page.goto(f"{live_server.url}/desk/cases/")
    page.check("#select-all")
    boxes = page.locator("input.case-check")
    assert boxes.count() == 3
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    # The language switch (was onchange=) submits its form.
    page.select_option("select[name=language]", "zh-hans")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert _violations(page) == []
    context.close()

    context, page = _signed_in(browser, live_server, "root")
    for path in ("/admin/", "/admin/cases/case/", "/admin/cases/user/",
                 "/admin/axes/accessattempt/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert _violations(page) == [], path
    context.close()


def test_the_browser_enforces_it_an_injected_inline_script_does_not_run(browser, live_server):
    context = browser.new_context(locale="en-US")
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.goto(f"{live_server.url}/track/")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.__ran = true"; document.body.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === undefined")
    assert any(v.startswith("script-src") for v in _violations(page))
    context.close()


def test_public_pages_run_under_the_policy(browser, live_server):
    context = browser.new_context(locale="en-US")
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    for path in ("/accounts/login/", "/accounts/password_reset/", "/complain/", "/track/",
                 "/api/v1/docs"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert _violations(page) == [], path
    context.close()
