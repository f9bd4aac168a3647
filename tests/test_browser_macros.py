"""A real browser (issue 15, items 2 and 6): an agent inserts a canned reply, edits it,
previews and sends it (the macro's pause is recorded with the reply); and an agent composes,
previews, sends and prints the final-response letter. Screenshots go to test-artifacts/.
Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import importlib

import pytest

from cases.choices import NoteKind, Role, Stage
from cases.models import CaseNote, CasePause, FinalLetter, LetterTemplate, Macro, PauseReason
from cases.models.notices import NoticeKind
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_desk import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEED = importlib.import_module("cases.migrations.0035_seed_macros_and_letter")


def _materials_macro() -> Macro:
    # A transactional test's database was flushed: the seeded rows are written again.
    reason, _c = PauseReason.objects.get_or_create(code="customer_materials", defaults={
        "name": "等待投诉人补充材料", "name_en": "Waiting for the complainant's materials",
        "max_days": 30, "clocks": ["response", "solution", "progress"],
        "resumes_on_customer_reply": True})
    title, title_en, body, body_en = SEED.MACROS[1][:4]
    return Macro.objects.create(title=title, title_en=title_en, body=body, body_en=body_en,
                                action="request_materials", pause_reason=reason)


def _open(browser, live_server, artifacts_dir, name: str, stage: str, language: str):
    """A case at ``stage`` handled by a new agent signed in in ``language``; a screenshot
    helper."""
    agent = UserFactory(username=f"{name}-agent", role=Role.FRONTLINE, language=language,
                        time_zone="Asia/Shanghai")
    case = CaseFactory(stage=stage, handler=agent)
    context, page = _login(browser, live_server.url, agent.username, language)

    def shot(page, step: str) -> None:
        page.screenshot(path=str(artifacts_dir / f"{name}_{step}.png"), full_page=True)

    return case, context, page, shot


def test_an_agent_inserts_edits_previews_and_sends_a_canned_reply(
    django_db_setup, browser_env, live_server, browser, artifacts_dir
):
    macro = _materials_macro()
    case, context, page, shot = _open(browser, live_server, artifacts_dir, "macro",
                                      Stage.IN_PROGRESS, "zh-hans")
    try:
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        # Search the canned replies and insert one
        page.fill("[data-testid=macro-search]", "补充")
        page.locator(f"[data-testid=macro-results] [data-macro='{macro.pk}']").click()
        body = page.locator("#id_reply_body")
        inserted = body.input_value()
        assert case.customer.name in inserted and case.reference in inserted
        assert "{" not in inserted
        assert "等待投诉人补充材料" in page.locator("[data-testid=macro-action]").inner_text()
        # Edit it; the preview follows
        body.press("End")
        body.type("\n另：请注明收货地址。")
        preview = page.locator("[data-testid=reply-preview]")
        assert preview.is_visible()
        assert preview.inner_text().rstrip().endswith("另：请注明收货地址。")
        shot(page, "01_inserted_and_edited")
        page.click("[data-testid=send-reply]")
        page.wait_for_selector("[data-testid=case-header]")
        assert page.locator("[data-testid=header-paused]").count() == 1
        shot(page, "02_sent_and_paused")
    finally:
        context.close()
    reply = CaseNote.objects.get(case=case, kind=NoteKind.REPLY)
    sent = reply.body.replace("\r\n", "\n")  # a browser posts a textarea's lines with CRLF
    assert sent.endswith("另：请注明收货地址。") and sent.startswith(inserted.strip())
    assert reply.notice.kind == NoticeKind.REPLY
    assert CasePause.objects.get(case=case).reason.code == "customer_materials"


def test_an_agent_previews_sends_and_prints_the_final_letter(
    django_db_setup, browser_env, live_server, browser, artifacts_dir
):
    if not LetterTemplate.objects.exists():
        LetterTemplate.objects.create(**SEED.LETTER)
    case, context, page, shot = _open(browser, live_server, artifacts_dir, "letter",
                                      Stage.RESOLVED, "en")
    try:
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        page.click("[data-action=letter]")
        form = page.locator("[data-testid=letter-form]")
        assert form.locator("textarea[name=decision]").input_value() == case.solution
        # A missing part is named in the preview
        form.locator("textarea[name=reasons]").fill("")
        page.click("[data-testid=letter-preview]")
        assert "reasons for the decision" in page.locator(
            "[data-testid=letter-problems]").inner_text()
        form = page.locator("[data-testid=letter-form]")
        form.locator("textarea[name=reasons]").fill("运输途中损坏，属承运责任。")
        form.locator("textarea[name=measures]").fill("易碎品加固包装。")
        page.click("[data-testid=letter-preview]")
        assert page.locator("[data-testid=letter-problems]").count() == 0
        assert "运输途中损坏" in page.locator("[data-testid=letter-text]").inner_text()
        shot(page, "01_preview")
        page.click("[data-testid=letter-send]")
        page.wait_for_selector("[data-testid=letters]")
        shot(page, "02_sent")
        page.click("[data-testid=letter-print]")
        page.wait_for_selector("[data-testid=letter]")
        assert "运输途中损坏" in page.locator("[data-testid=letter]").inner_text()
        page.emulate_media(media="print")
        assert page.locator("nav.navbar").first.is_hidden()
        shot(page, "03_print")
    finally:
        context.close()
    letter = FinalLetter.objects.get(case=case)
    assert "运输途中损坏" in letter.text
    case.refresh_from_db()
    assert case.stage == Stage.FEEDBACK_GIVEN
