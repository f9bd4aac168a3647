"""Issue 15 end to end, in a real browser: an agent inserts a canned reply, edits it, attaches
a file and sends it; the outbox sends it once; the customer's e-mail answer (Foxmail's Chinese
quote style, fed through the e-mail intake) joins the thread without the quoted part; the owner
gets an alert; /track/ shows both visible messages and none of the internal notes.
Screenshots go to test-artifacts/. Skipped with a reason when Debian's chromium is missing."""

from __future__ import annotations

import pytest
from django.core import mail

from cases.choices import NoteKind, Stage
from cases.models import Alert, CaseNote, Macro, Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.services.outbox import notice_send
from channels.email_intake import ingest_email
from tests.test_browser_macros import SEED, _open
from tests.test_inbound_email_threading import _reply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EDIT = "\n另：补发单号稍后短信告知。"
INTERNAL = "内部：承运商已承认延误，费用由物流部承担。"
CUSTOMER = "包裹今天还是没有送到。"


def test_reply_from_a_macro_then_the_customers_email_answer_and_the_tracking_page(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, intake_env
):
    title, title_en, body, body_en = SEED.MACROS[0][:4]
    macro = Macro.objects.create(title=title, title_en=title_en, body=body, body_en=body_en)
    case, context, page, shot = _open(browser, live_server, artifacts_dir, "conversation",
                                      Stage.IN_PROGRESS, "zh-hans")
    try:
        # The agent inserts the canned reply, edits it, attaches a file and sends it
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        page.fill("[data-testid=macro-search]", title[:4])
        page.locator(f"[data-testid=macro-results] [data-macro='{macro.pk}']").click()
        reply_box = page.locator("#id_reply_body")
        inserted = reply_box.input_value()
        assert case.reference in inserted and "{" not in inserted
        reply_box.press("End")
        reply_box.type(EDIT)
        page.set_input_files("#id_reply_files", files=[
            {"name": "补发凭证.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        shot(page, "01_reply")
        page.click("[data-testid=send-reply]")
        page.wait_for_selector("[data-testid=case-header]")
        # ... and writes an internal note the customer must never see
        note_form = page.locator("[data-testid=note-form]")
        note_form.locator("input[name=kind][value=internal]").check()
        note_form.locator("textarea[name=body]").fill(INTERNAL)
        note_form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=case-header]")

        # The outbox sent the reply once, with its file
        reply = CaseNote.objects.get(case=case, kind=NoteKind.REPLY)
        notice = Notice.objects.get(case=case, kind=NoticeKind.REPLY)
        assert notice.status == NoticeStatus.SENT and reply.notice_id == notice.pk
        assert notice_send(notice_id=notice.pk).status != "sent"  # a second run sends nothing
        sent = [m for m in mail.outbox if m.to == [case.customer.email]
                and "补发单号稍后短信告知" in m.body]
        assert len(sent) == 1 and sent[0].attachments[0][0] == "补发凭证.pdf"

        # The customer answers from Foxmail, quoting our message
        outcome = ingest_email(_reply("foxmail_zh", in_reply_to=notice.message_id,
                                      sender=f"客户 <{case.customer.email}>",
                                      subject=f"回复：{case.reference}"))
        assert outcome.outcome == "joined" and outcome.case.pk == case.pk
        answer = CaseNote.objects.get(case=case, kind=NoteKind.CUSTOMER_MESSAGE)
        assert CUSTOMER in answer.body and "原始邮件" not in answer.body
        assert Alert.objects.filter(recipient_id=case.owner_id, case=case,
                                    kind="customer_message").exists()

        # The thread shows it without the quote
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        thread = page.locator("[data-testid=timeline]").inner_text()
        assert CUSTOMER in thread and "原始邮件" not in thread and "补发单号稍后短信告知" in thread
        shot(page, "02_thread")
    finally:
        context.close()

    # The customer's progress page: both visible messages, no internal note
    public = browser.new_context(locale="zh-CN")
    try:
        track = public.new_page()
        track.goto(f"{live_server.url}/track/")
        track.fill("#id_reference", case.reference)
        track.fill("#id_code", case.tracking_code)
        track.locator("main form button[type=submit]").click()
        track.wait_for_selector("#track-result")
        shown = track.locator("[data-testid=track-thread]").inner_text()
        assert "补发单号稍后短信告知" in shown and CUSTOMER in shown
        assert INTERNAL not in track.content() and "原始邮件" not in shown
        track.screenshot(path=str(artifacts_dir / "conversation_03_track.png"), full_page=True)
    finally:
        public.close()
