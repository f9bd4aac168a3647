"""The conversation on the desk and the board (issue 15): the composer, files on notes and
department requests, the paged thread, downloads, /track/; and who may reach each URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases.choices import ContactChannel, NoteKind, Role, Stage, Tier
from cases.models import CaseAttachment, CaseNote, Notice
from cases.models.notices import NoticeKind, NoticeStatus
from cases.services import case_add_customer_message, case_add_note
from cases.services import collaboration as collab
from cases.services.conversation import case_send_reply
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SECRET_REPLY = "退款已于今日原路退回"
SECRET_NOTE = "内部：客户曾多次投诉"


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def world(dept_tree, supervisor, frontline, intake_env):
    """A case in progress with requests to logistics and sales; a reply with a file, an
    internal note with a file, and a file shared with each department."""
    case = CaseFactory(stage=Stage.IN_PROGRESS, tier=Tier.IMPORTANT, handler=supervisor)
    logistics = collab.request_create(actor=supervisor, case_id=case.pk,
                                      department=dept_tree["logistics"], ask="核实物流")
    sales = collab.request_create(actor=supervisor, case_id=case.pk,
                                  department=dept_tree["sales"], ask="核实订单")
    reply = case_send_reply(actor=frontline, case_id=case.pk, body=SECRET_REPLY,
                            channel=ContactChannel.EMAIL, files=[pdf("reply.pdf")])
    note = case_add_note(actor=frontline, case_id=case.pk, body=SECRET_NOTE,
                         files=[pdf("note.pdf")])
    collab.request_add_note(actor=dept_tree["logistics"].liaison, request_id=logistics.pk,
                            body="签收单", files=[pdf("logistics.pdf")])
    collab.request_add_note(actor=supervisor, request_id=sales.pk, body="",
                            files=[pdf("sales.pdf")])
    files = {a.original_name: a for a in CaseAttachment.objects.filter(case=case)}
    return {**dept_tree, "case": case, "reply": reply, "note": note, "files": files,
            "req_logistics": logistics, "req_sales": sales}


# --- the composer -----------------------------------------------------------------------------
def test_an_agent_sends_a_reply_from_the_workspace(client, frontline, intake_env):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[case.pk]))
    assert b'id="id_reply_body"' in page.content and b"{# macro picker #}" not in page.content
    response = client.post(reverse("desk:case_reply", args=[case.pk]), {
        "body": "您好，已为您安排补发。", "channel": ContactChannel.EMAIL, "files": [pdf()],
        "version": case.version})
    assert response.status_code == 302
    note = CaseNote.objects.get(case=case, kind=NoteKind.REPLY)
    assert note.author == frontline and note.files.get().original_name == "invoice.pdf"
    thread = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "您好，已为您安排补发。" in thread and 'data-testid="delivery-status"' in thread


@pytest.mark.parametrize("body, files, message", [
    ("   ", [], "This field is required."),
    ("长" * (1024 * 1024), [], "at most 4000 characters"),  # 3 MB of UTF-8
    ("x" * (10 * 1024 * 1024), [], "too large"),  # over the request limit: the 400 page
    ("见附件", [SimpleUploadedFile("x.html", b"<html><script>1</script></html>", "text/html")],
     "is not a photo, PDF, text or Office document"),
])
def test_bad_replies_get_a_clear_error_and_write_nothing(client, frontline, intake_env, body,
                                                         files, message):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    notes, notices = CaseNote.objects.count(), Notice.objects.count()
    response = client.post(reverse("desk:case_reply", args=[case.pk]), {
        "body": body, "channel": ContactChannel.EMAIL, "files": files})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (CaseNote.objects.count(), Notice.objects.count()) == (notes, notices)
    assert not CaseAttachment.objects.filter(case=case).exists()


def test_a_failed_reply_is_sent_again_from_the_thread(client, frontline, settings, sms_folder,
                                                      django_capture_on_commit_callbacks):
    from cases.services.outbox import notice_send

    case = CaseFactory(stage=Stage.TRIAGED)
    settings.COMPLAINTS_SMS_BACKEND = "tests.test_conversation_replies.RefusingSms"
    note = case_send_reply(actor=frontline, case_id=case.pk, body="短信回复",
                           channel=ContactChannel.SMS)
    notice_send(notice_id=note.notice_id)
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "number blocked by the gateway" in page and 'data-testid="resend"' in page
    settings.COMPLAINTS_SMS_BACKEND = "cases.notice_backends.FileSmsBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("desk:reply_resend", args=[case.pk, note.notice_id]))
    assert response.status_code == 302
    assert Notice.objects.get(pk=note.notice_id).status == NoticeStatus.SENT  # eager worker


def test_an_internal_note_keeps_its_files(client, frontline, intake_env):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    response = client.post(reverse("desk:case_note", args=[case.pk]), {
        "kind": NoteKind.INTERNAL, "body": "客户寄来的照片", "files": [pdf("photo.pdf")]})
    assert response.status_code == 302
    note = CaseNote.objects.get(case=case, kind=NoteKind.INTERNAL)
    assert note.files.get().uploaded_by == frontline
    assert not note.visible_to_customer


def test_a_liaison_shares_a_file_on_their_request(client, world):
    liaison = world["logistics"].liaison
    client.force_login(liaison)
    response = client.post(reverse("board:note_add", args=[world["req_logistics"].pk]),
                           {"body": "", "files": [pdf("scan.pdf")]})
    assert response.status_code == 302
    shared = CaseAttachment.objects.get(original_name="scan.pdf")
    assert shared.request == world["req_logistics"] and shared.uploaded_by == liaison
    page = client.get(reverse("board:request", args=[world["req_logistics"].pk])).content.decode()
    assert "scan.pdf" in page and "logistics.pdf" in page and "sales.pdf" not in page


# --- downloads ----------------------------------------------------------------------------------
def _download(client, user, attachment):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(reverse("channels:attachment", args=[attachment.pk]))


def test_files_download_as_attachments_for_the_desk(client, world, frontline2):
    for name in ("reply.pdf", "note.pdf", "logistics.pdf", "sales.pdf"):
        response = _download(client, frontline2, world["files"][name])
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_liaison_downloads_only_their_department_s_files(client, world):
    own = world["logistics"].liaison
    assert _download(client, own, world["files"]["logistics.pdf"]).status_code == 200
    for name in ("reply.pdf", "note.pdf", "sales.pdf"):
        assert _download(client, own, world["files"][name]).status_code == 404


def test_outsiders_never_get_a_file(client, world):
    island = world["island"].liaison  # a liaison of a department never asked
    nobody = UserFactory(username="admin-only", role=Role.ADMIN)
    for name, attachment in world["files"].items():
        assert _download(client, island, attachment).status_code == 404, name
        assert _download(client, nobody, attachment).status_code == 404, name
        anonymous = _download(client, None, attachment)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


# --- every new URL, every outsider ----------------------------------------------------------
def _new_urls(world) -> list[tuple[str, str, dict]]:
    case = world["case"]
    return [
        ("post", reverse("desk:case_reply", args=[case.pk]),
         {"body": "outsider", "channel": ContactChannel.EMAIL}),
        ("post", reverse("desk:case_note", args=[case.pk]),
         {"kind": NoteKind.INTERNAL, "body": "outsider", "files": [pdf("outsider.pdf")]}),
        ("post", reverse("desk:reply_resend", args=[case.pk, world["reply"].notice_id]), {}),
        ("get", reverse("desk:case_timeline", args=[case.pk]) + "?before=9999999999999999.0.1",
         {}),
        ("get", reverse("desk:case", args=[case.pk]), {}),
        ("post", reverse("board:note_add", args=[world["req_logistics"].pk]),
         {"body": "outsider", "files": [pdf("outsider.pdf")]}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "other_liaison", "own_liaison_on_desk",
                                 "no_desk_role"])
def test_outsiders_reach_no_new_url(client, world, who):
    users = {"anonymous": None, "other_liaison": world["island"].liaison,
             "own_liaison_on_desk": world["logistics"].liaison,
             "no_desk_role": UserFactory(username="admin-only", role=Role.ADMIN)}
    user = users[who]
    notes, files = CaseNote.objects.count(), CaseAttachment.objects.count()
    for method, url, data in _new_urls(world):
        if who == "own_liaison_on_desk" and url.startswith("/board/"):
            continue  # their own request: allowed (tested above)
        client.logout()
        if user is not None:
            client.force_login(user)
        response = getattr(client, method)(url, data)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code in (403, 404), (who, url, response.status_code)
            body = response.content.decode()
            assert SECRET_REPLY not in body and SECRET_NOTE not in body
    assert (CaseNote.objects.count(), CaseAttachment.objects.count()) == (notes, files)


# --- the paged thread -------------------------------------------------------------------------
def _thread(case, author, n: int) -> None:
    """``n`` messages: customer messages, replies with their outbox rows and files, internal
    notes, all at one instant (the cursor must still split them exactly)."""
    now = timezone.now()
    for i in range(n):
        kind = (NoteKind.CUSTOMER_MESSAGE, NoteKind.REPLY, NoteKind.INTERNAL)[i % 3]
        notice = None
        if kind == NoteKind.REPLY:
            notice = Notice.objects.create(
                case=case, kind=NoticeKind.REPLY, channel=ContactChannel.EMAIL,
                recipient="c@example.com", body=f"m{i}", idempotency_key=f"t:{case.pk}:{i}",
                created_at=now, status=NoticeStatus.FAILED if i % 2 else NoticeStatus.SENT,
                last_error="refused")
        note = CaseNote.objects.create(case=case, kind=kind, body=f"message {i:03d}",
                                       author=None if i % 3 == 0 else author,
                                       visible_to_customer=kind != NoteKind.INTERNAL,
                                       notice=notice, created_at=now)
        if i % 4 == 0:
            CaseAttachment.objects.create(case=case, note=note, original_name=f"f{i}.pdf",
                                          content_type="application/pdf", size=3,
                                          file=f"attachments/x{i}.pdf")


def test_a_200_message_thread_costs_the_queries_of_a_2_message_one(
        client, frontline, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = CaseFactory(stage=Stage.TRIAGED), CaseFactory(stage=Stage.TRIAGED)
    _thread(small, frontline, 2)
    _thread(large, frontline, 200)
    client.force_login(frontline)
    client.get(reverse("desk:case", args=[small.pk]))  # warm the per-process caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("desk:case", args=[small.pk])).status_code == 200
    with django_assert_num_queries(len(ctx.captured_queries)):
        response = client.get(reverse("desk:case", args=[large.pk]))
    assert len(response.context["ws"].timeline) == 30
    assert response.context["ws"].timeline.earlier


def test_show_earlier_walks_the_whole_thread_once(client, frontline,
                                                  django_assert_max_num_queries):
    case = CaseFactory(stage=Stage.TRIAGED)
    _thread(case, frontline, 200)
    client.force_login(frontline)
    response = client.get(reverse("desk:case", args=[case.pk]))
    seen = [e.obj.body for e in response.context["ws"].timeline if e.kind == "note"]
    cursor = response.context["ws"].timeline.earlier
    pages = 1
    while cursor:
        with django_assert_max_num_queries(20):
            response = client.get(reverse("desk:case_timeline", args=[case.pk]),
                                  {"before": cursor}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        page = response.context["ws"].timeline
        seen = [e.obj.body for e in page if e.kind == "note"] + seen
        cursor = page.earlier
        pages += 1
    assert seen == [f"message {i:03d}" for i in range(200)]
    assert pages >= 7


def test_a_malformed_page_cursor_is_a_clear_400(client, frontline):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    response = client.get(reverse("desk:case_timeline", args=[case.pk]), {"before": "x' or 1"})
    assert response.status_code == 400


# --- /track/ ----------------------------------------------------------------------------------
def test_track_shows_the_visible_conversation_only(client, frontline, intake_env):
    case = CaseFactory(stage=Stage.TRIAGED)
    case_add_customer_message(case_id=case.pk, body="请尽快处理我的订单")
    case_send_reply(actor=frontline, case_id=case.pk, body="我们已联系仓库，明天发货。",
                    channel=ContactChannel.EMAIL, files=[pdf()])
    case_add_note(actor=frontline, case_id=case.pk, body=SECRET_NOTE)
    response = client.post(reverse("channels:track"),
                           {"reference": case.reference, "code": case.tracking_code})
    body = response.content.decode()
    assert "请尽快处理我的订单" in body and "我们已联系仓库，明天发货。" in body
    assert body.index("请尽快处理我的订单") < body.index("我们已联系仓库，明天发货。")
    assert SECRET_NOTE not in body
    assert frontline.display_name not in body  # no staff names on the customer's page
    assert 'data-kind="reply"' in body and 'data-kind="customer"' in body


def test_track_lists_replies_in_time_order(client, frontline):
    case = CaseFactory(stage=Stage.TRIAGED)
    first = case_send_reply(actor=frontline, case_id=case.pk, body="第一条回复",
                            channel=ContactChannel.EMAIL)
    CaseNote.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=1))
    case_send_reply(actor=frontline, case_id=case.pk, body="第二条回复",
                    channel=ContactChannel.EMAIL)
    body = client.post(reverse("channels:track"),
                      {"reference": case.reference, "code": case.tracking_code}
                      ).content.decode()
    assert body.index("第一条回复") < body.index("第二条回复")


def test_no_composer_without_an_address_or_on_a_closed_case(client, frontline):
    from cases.models import Customer

    nowhere = CaseFactory(stage=Stage.TRIAGED)
    Customer.objects.filter(pk=nowhere.customer_id).update(email="", phone="")  # e.g. erased
    closed = CaseFactory(stage=Stage.INVALID)
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[nowhere.pk])).content.decode()
    assert 'data-testid="no-address"' in page and 'id="id_reply_body"' not in page
    page = client.get(reverse("desk:case", args=[closed.pk])).content.decode()
    assert 'data-testid="reply-form"' not in page


def test_a_colleague_s_change_is_shown_and_the_reply_can_then_be_sent(client, frontline,
                                                                      frontline2):
    case = CaseFactory(stage=Stage.TRIAGED)
    seen = case.version
    case_add_note(actor=frontline2, case_id=case.pk, body="我刚给客户打过电话")
    client.force_login(frontline)
    data = {"body": "您好", "channel": ContactChannel.EMAIL, "version": seen}
    response = client.post(reverse("desk:case_reply", args=[case.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone else changed case" in page and "我刚给客户打过电话" in page
    assert not CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).exists()
    data["version"] = response.context["reply_form"]["version"].value()
    assert client.post(reverse("desk:case_reply", args=[case.pk]), data).status_code == 302
    assert CaseNote.objects.filter(case=case, kind=NoteKind.REPLY).count() == 1
