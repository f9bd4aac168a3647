"""An e-mail reply joins its case by In-Reply-To / References of a message the desk sent,
with only the customer's new text in the thread and the e-mail as received kept beside it;
the case then waits in the "Customer replied" queue until an agent answers."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.urls import reverse

from cases import services
from cases.choices import NoteKind, Stage
from cases.models import Alert, Case, CaseNote, Notice
from channels.email_intake import ingest_email
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
REPLIES = Path(__file__).parent / "fixtures" / "replies"


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def _case(handler, **kw) -> Case:
    return CaseFactory(stage=Stage.IN_PROGRESS, handler=handler,
                       email="wangwu@163.com", **kw)


def _our_message_id(case: Case) -> str:
    notice = Notice.objects.filter(case=case).exclude(message_id="").earliest("id")
    return notice.message_id


def _reply(style: str, *, in_reply_to: str = "", references: str = "",
           sender: str = "王五 <wangwu@163.com>", subject: str = "Re: 您的投诉") -> bytes:
    mail = message_from_bytes((REPLIES / f"{style}.eml").read_bytes(), policy=policy.default)
    for header in ("In-Reply-To", "References", "From", "Subject"):
        del mail[header]
    mail["From"], mail["Subject"] = sender, subject
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = references
    return mail.as_bytes()


def test_customer_notices_by_email_carry_a_message_id_we_can_look_up(frontline):
    case = _case(frontline)
    notice = Notice.objects.filter(case=case, channel="email").earliest("id")
    assert notice.message_id.startswith("notice-") and "@" in notice.message_id


def test_a_reply_to_our_email_joins_the_case_without_the_reference(frontline, _env):
    case = _case(frontline)
    raw = _reply("netease_163", in_reply_to=_our_message_id(case))

    outcome = ingest_email(raw)

    assert outcome.outcome == "joined" and outcome.case.pk == case.pk
    note = CaseNote.objects.get(case=case, kind=NoteKind.CUSTOMER_MESSAGE)
    expected = (REPLIES / "netease_163.expected.txt").read_text(encoding="utf-8").strip()
    assert note.body == expected and note.visible_to_customer
    assert "写道" not in note.body
    original = case.attachments.get(content_type="message/rfc822")
    assert original.note_id == note.pk  # shown with the message in the thread
    assert (_env / original.file.name).read_bytes() == raw  # the whole e-mail is kept
    assert Alert.objects.filter(recipient=frontline, case=case,
                                kind="customer_message").exists()
    case.refresh_from_db()
    assert case.awaiting_reply_since is not None


def test_references_find_the_case_when_in_reply_to_names_another_message(frontline):
    case = _case(frontline)
    raw = _reply("gmail_zh", in_reply_to="someone-else@mail.example",
                 references=f"<first@mail.example> <{_our_message_id(case)}>")

    assert ingest_email(raw).case.pk == case.pk
    assert case.notes.get(kind=NoteKind.CUSTOMER_MESSAGE).body == "我的订单号是 SO-88812。"


def test_a_reply_from_another_address_is_kept_unverified_for_staff(frontline):
    case = _case(frontline)
    raw = _reply("qq_mail", in_reply_to=_our_message_id(case), sender="x <stranger@qq.com>")

    outcome = ingest_email(raw)

    assert outcome.outcome == "unverified"
    note = case.notes.get(kind=NoteKind.UNVERIFIED_MESSAGE)
    assert not note.visible_to_customer and note.sender.endswith("<stranger@qq.com>")


def test_a_reply_naming_no_message_of_ours_is_a_new_complaint(frontline):
    case = _case(frontline)
    outcome = ingest_email(_reply("outlook_zh", in_reply_to="unknown@mail.example"))

    assert outcome.outcome == "created" and outcome.case.pk != case.pk
    assert not case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE).exists()


def test_a_reply_that_is_only_a_quote_says_so_and_keeps_the_original(frontline):
    case = _case(frontline)
    mail = EmailMessage()
    mail["From"], mail["To"] = "wangwu@163.com", "desk@complaints.example.cn"
    mail["Subject"], mail["Message-ID"] = "Re: 投诉", "<only-quote@163.com>"
    mail["In-Reply-To"] = f"<{_our_message_id(case)}>"
    mail.set_content("在 2026-12-01 10:00:00，\"投诉中心\" <desk@x.cn> 写道：\n>尊敬的客户\n")

    ingest_email(mail.as_bytes())

    note = case.notes.get(kind=NoteKind.CUSTOMER_MESSAGE)
    assert "original e-mail is attached" in note.body
    assert case.attachments.filter(content_type="message/rfc822").count() == 1


# --- the "Customer replied" queue --------------------------------------------------------------
def _queue_refs(client, user) -> list[str]:
    client.force_login(user)
    response = client.get(reverse("desk:cases"), {"queue": "replied"})
    assert response.status_code == 200
    return [c.reference for c in response.context["cases"]]


def _home_count(client, name: str) -> int:
    counts = client.get(reverse("desk:home")).context["queue_counts"]
    return next(qc.count for qc in counts if qc.queue.name == name)


def test_the_handler_sees_the_reply_in_their_queue_until_they_answer(client, frontline,
                                                                      frontline2):
    case = _case(frontline)
    other = _case(frontline2)
    for target in (case, other):
        ingest_email(_reply("foxmail_zh", in_reply_to=_our_message_id(target))
                     .replace(b"reply-foxmail_zh", f"r{target.pk}".encode()))

    assert _queue_refs(client, frontline) == [case.reference]  # not someone else's case
    assert _home_count(client, "replied") == 1

    services.case_record_contact(actor=frontline, case_id=case.pk, summary="已回电说明。")

    assert _queue_refs(client, frontline) == []
    assert _home_count(client, "replied") == 0


def test_supervisors_see_every_case_waiting_for_an_answer(client, frontline, supervisor):
    case = _case(frontline)
    ingest_email(_reply("gmail_en", in_reply_to=_our_message_id(case)))

    assert _queue_refs(client, supervisor) == [case.reference]


def test_a_customer_visible_progress_note_answers_an_internal_one_does_not(frontline):
    case = _case(frontline)
    ingest_email(_reply("outlook_en", in_reply_to=_our_message_id(case)))

    services.case_add_note(actor=frontline, case_id=case.pk, body="内部：等物流回复。")
    case.refresh_from_db()
    assert case.awaiting_reply_since is not None

    services.case_add_note(actor=frontline, case_id=case.pk, body="已联系物流，明天回复您。",
                           kind=NoteKind.PROGRESS, visible_to_customer=True)
    case.refresh_from_db()
    assert case.awaiting_reply_since is None


def test_a_second_message_keeps_the_first_waiting_time(frontline):
    case = _case(frontline)
    ingest_email(_reply("apple_mail_en", in_reply_to=_our_message_id(case)))
    case.refresh_from_db()
    first = case.awaiting_reply_since

    ingest_email(_reply("dash_signature", in_reply_to=_our_message_id(case)))
    case.refresh_from_db()

    assert case.awaiting_reply_since == first
    assert case.notes.filter(kind=NoteKind.CUSTOMER_MESSAGE).count() == 2


def test_a_desk_reply_answers_and_the_customers_answer_to_it_joins(frontline):
    from cases.services.conversation import case_send_reply

    case = _case(frontline)
    ingest_email(_reply("gmail_en", in_reply_to=_our_message_id(case)))

    note = case_send_reply(actor=frontline, case_id=case.pk, body="我们明天回电。",
                           channel="email")
    case.refresh_from_db()
    assert case.awaiting_reply_since is None
    assert note.notice.message_id

    outcome = ingest_email(_reply("outlook_zh_new", in_reply_to=note.notice.message_id))

    assert outcome.outcome == "joined" and outcome.case.pk == case.pk
    case.refresh_from_db()
    assert case.awaiting_reply_since is not None
