"""A real browser: an agent writes a reply with an attachment from the case workspace and sends
it; the reply shows in the thread with its delivery status; a bad file gets a clear error; an
internal note stays off the customer's page; /track/ shows the customer's message and the
reply. And issue 15 end to end: an agent inserts a canned reply, edits it, attaches a file and
sends it; the outbox sends it once; the customer's e-mail answer (Foxmail's Chinese quote
style, fed through the e-mail intake) joins the thread without the quoted part; the owner gets
an alert; /track/ shows both visible messages and none of the internal notes. Screenshots go
to test-artifacts/.

Skipped with a reason when Debian's chromium is missing (see tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.core import mail

from cases.choices import ContactChannel, NoteKind, Role, Stage
from cases.models import Alert, CaseNote, Macro, Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.services import case_add_customer_message
from cases.services.outbox import notice_send
from channels.email_intake import ingest_email
from tests.factories import CaseFactory, UserFactory
from tests.test_browser_board import login as board_login
from tests.test_browser_desk import _login
from tests.test_browser_macros import SEED, _open
from tests.test_inbound_email_threading import _reply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_agent_replies_with_a_file_and_the_customer_sees_it_on_track(
    django_db_setup, browser_env, intake_env, live_server, browser, artifacts_dir, tmp_path
):
    agent = UserFactory(username="reply-agent", role=Role.FRONTLINE, language="en",
                        display_name="Agent Zhou")
    case = CaseFactory(stage=Stage.TRIAGED, preferred_channel=ContactChannel.EMAIL)
    case_add_customer_message(case_id=case.pk, body="The kettle still leaks, please hurry.")
    (tmp_path / "receipt.pdf").write_bytes(PDF)
    (tmp_path / "page.html").write_text("<html><script>alert(1)</script></html>")
    shot = lambda page, name: page.screenshot(  # noqa: E731
        path=str(artifacts_dir / f"conversation_{name}.png"), full_page=True)

    context, page = _login(browser, live_server.url, agent.username, "en")
    try:
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        page.wait_for_selector("[data-testid=reply-form]")
        shot(page, "01_workspace")

        # A refused file type: a clear error, nothing sent, the text kept.
        page.fill("#id_reply_body", "Please see the attached page.")
        page.set_input_files("#id_reply_files", str(tmp_path / "page.html"))
        page.click("[data-testid=send-reply]")
        page.wait_for_selector("#id_reply_files.is-invalid")
        assert "not a photo, PDF, text or Office document" in page.inner_text(
            "[data-testid=reply-form]")
        assert page.input_value("#id_reply_body") == "Please see the attached page."
        assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()
        shot(page, "02_refused_file")

        # The reply with a receipt: queued, then sent by the outbox.
        page.fill("#id_reply_body", "We are sending a new kettle today; the receipt is attached.")
        page.select_option("#id_reply_channel", ContactChannel.EMAIL)
        page.set_input_files("#id_reply_files", str(tmp_path / "receipt.pdf"))
        page.click("[data-testid=send-reply]")
        page.wait_for_selector(".thread li.msg-agent [data-testid=delivery-status]")
        bubble = page.locator(".thread li.msg-agent", has_text="We are sending a new kettle")
        assert "receipt.pdf" in bubble.inner_text()
        assert bubble.locator("[data-testid=delivery]").get_attribute("data-status") in (
            NoticeStatus.QUEUED, NoticeStatus.SENDING, NoticeStatus.SENT)
        customer = page.locator(".thread li.msg-customer", has_text="The kettle still leaks")
        assert customer.count() == 1
        reply = CaseNote.objects.get(case=case, kind=NoteKind.REPLY)
        assert reply.files.get().original_name == "receipt.pdf"
        assert Notice.objects.filter(pk=reply.notice_id).count() == 1
        shot(page, "03_reply_in_thread")

        # An internal note, told apart at a glance (yellow, right).
        page.fill("#id_body", "Internal: courier blamed, check the depot.")
        page.check("input[name=kind][value=internal]")
        page.locator("[data-testid=note-form] button[type=submit]").click()
        page.wait_for_selector(".thread li.msg-internal")
        shot(page, "04_internal_note")

        # The customer's progress page, in a browser of their own.
        page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
        page.goto(f"{live_server.url}/track/")
        page.fill("#id_reference", case.reference)
        page.fill("#id_code", case.tracking_code)
        page.click("main form button[type=submit]")
        page.wait_for_selector("#track-result")
        thread = page.inner_text("[data-testid=track-thread]")
        assert "The kettle still leaks, please hurry." in thread
        assert "We are sending a new kettle today" in thread
        assert "courier blamed" not in page.content()
        assert "Agent Zhou" not in page.content()
        shot(page, "05_track")
        page.context.close()
    finally:
        context.close()


def test_a_liaison_shares_a_file_and_the_agent_downloads_it(
    django_db_setup, browser_env, intake_env, live_server, browser, artifacts_dir, tmp_path,
    dept_tree
):
    from cases.models import CaseAttachment
    from cases.services import collaboration as collab

    boss = UserFactory(username="share-boss", role=Role.SUPERVISOR, language="en")
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=boss)
    req = collab.request_create(actor=boss, case_id=case.pk, department=dept_tree["logistics"],
                                ask="Send us the courier's delivery slip.")
    (tmp_path / "slip.pdf").write_bytes(PDF)
    liaison = dept_tree["logistics"].liaison
    liaison.language = "en"
    liaison.save(update_fields=["language"])

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    board_login(page, live_server.url, liaison.username)
    try:
        page.goto(f"{live_server.url}/board/requests/{req.pk}/")
        page.set_input_files("#id_board_files", str(tmp_path / "slip.pdf"))
        page.locator("[data-testid=board-note-form] button[type=submit]").click()
        page.wait_for_selector("[data-testid=shared-files] a")
        assert "slip.pdf" in page.inner_text("[data-testid=shared-files]")
        page.screenshot(path=str(artifacts_dir / "conversation_06_board_shared.png"),
                        full_page=True)
    finally:
        context.close()
    shared = CaseAttachment.objects.get(request=req)

    context, page = _login(browser, live_server.url, boss.username, "en")
    try:
        page.goto(f"{live_server.url}/board/requests/{req.pk}/")
        with page.expect_download() as download:
            page.locator("[data-testid=shared-files] a", has_text="slip.pdf").click()
        assert download.value.suggested_filename == "slip.pdf"
    finally:
        context.close()

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    board_login(page, live_server.url, dept_tree["sales"].liaison.username)
    try:  # another department's liaison: the file is not there for them
        response = page.goto(f"{live_server.url}/desk/attachments/{shared.pk}/")
        assert response.status == 404
    finally:
        context.close()


def test_show_earlier_loads_the_older_messages_in_place(
    django_db_setup, browser_env, live_server, browser, artifacts_dir
):
    from tests.test_conversation_views import _thread

    agent = UserFactory(username="thread-agent", role=Role.FRONTLINE, language="en")
    case = CaseFactory(stage=Stage.TRIAGED)
    _thread(case, agent, 45)
    context, page = _login(browser, live_server.url, agent.username, "en")
    try:
        page.goto(f"{live_server.url}/desk/cases/{case.pk}/")
        thread = page.locator("[data-testid=timeline]")
        assert "message 044" in thread.inner_text()
        assert "message 000" not in thread.inner_text()
        page.click("[data-testid=show-earlier] a")
        page.wait_for_selector("text=message 000")
        assert page.locator("[data-testid=show-earlier]").count() == 0
        assert thread.inner_text().index("message 000") < thread.inner_text().index(
            "message 044")
        page.screenshot(path=str(artifacts_dir / "conversation_07_show_earlier.png"),
                        full_page=True)
    finally:
        context.close()


EDIT = "\n另：补发单号稍后短信告知。"
INTERNAL = "内部：承运商已承认延误，费用由物流部承担。"
CUSTOMER = "包裹今天还是没有送到。"


def test_reply_from_a_macro_then_the_customers_email_answer_and_the_tracking_page(
    django_db_setup, browser_env, live_server, browser, artifacts_dir, intake_env
):
    title, title_en, body, body_en = SEED.MACROS[0][:4]
    macro = Macro.objects.create(title=title, title_en=title_en, body=body, body_en=body_en)
    case, context, page, shot = _open(browser, live_server, artifacts_dir, "issue15",
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
        track.screenshot(path=str(artifacts_dir / "issue15_03_track.png"), full_page=True)
    finally:
        public.close()
