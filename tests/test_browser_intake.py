"""A real browser submits the public complaint form (with a photo) and then finds the case
through the progress lookup with the reference and tracking code it was shown. Screenshots
go to test-artifacts/intake_*.png. Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import pytest

from cases.models import Case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    """Playwright's sync API runs an event loop in this thread; Django's sync database calls
    must be allowed beside it until pytest-django has flushed the transactional database."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def test_public_form_then_progress_lookup(
    django_db_setup, browser_env, intake_env, live_server, browser, artifacts_dir, tmp_path
):
    photo = tmp_path / "kettle.png"
    photo.write_bytes(PNG)
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complain/")
        page.fill("#id_name", "陈静")
        page.fill("#id_phone", "13612345678")
        page.select_option("#id_category", "product_quality")
        page.fill("#id_subject", "电热水壶漏水")
        page.fill("#id_description", "新买的电热水壶底部漏水，差点烫伤孩子。")
        page.fill("#id_order_ref", "SO-20260101")
        page.fill("#id_occurred_at", "2026-01-02T08:30")
        page.fill("#id_desired_outcome", "退货退款")
        page.set_input_files("#id_attachments", str(photo))
        box = page.locator("#hp-field").bounding_box()  # the honeypot is not for people
        assert box is None or (box["width"] <= 1 and box["height"] <= 1)
        page.screenshot(path=str(artifacts_dir / "intake_01_form.png"), full_page=True)
        page.click("#complaint-form button[type=submit]")

        page.wait_for_selector("#reference")
        reference = page.inner_text("#reference").strip()
        code = page.inner_text("#tracking-code").strip()
        page.screenshot(path=str(artifacts_dir / "intake_02_done.png"), full_page=True)
        case = Case.objects.get(reference=reference)
        assert case.tracking_code == code and case.channel == "web"
        assert case.attachments.get().content_type == "image/png"
        assert case.customer.language == "zh-hans"

        # A wrong code first: the same answer as for a reference that does not exist.
        page.click("text=" + page.inner_text("a.btn-primary[href*='/track/']"))
        page.wait_for_selector("#id_code")
        assert page.input_value("#id_reference") == reference
        page.fill("#id_code", "WRONGCODE1")
        page.click("main form button[type=submit]")
        page.wait_for_selector("#track-not-found")

        page.fill("#id_reference", reference)
        page.fill("#id_code", code)
        page.click("main form button[type=submit]")
        page.wait_for_selector("#track-result")
        result = page.inner_text("#track-result")
        assert reference in result and "电热水壶漏水" in result
        assert page.inner_text("#track-stage").strip() == "我们已收到您的投诉" or (
            page.inner_text("#track-stage").strip() == "We received your complaint")
        page.screenshot(path=str(artifacts_dir / "intake_03_track.png"), full_page=True)

        # The last four digits of the phone (what a liaison's masked view shows) do not.
        page.fill("#id_reference", reference)
        page.fill("#id_code", "5678")
        page.click("main form button[type=submit]")
        page.wait_for_selector("#track-not-found")
    finally:
        context.close()
