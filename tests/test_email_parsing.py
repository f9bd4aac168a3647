"""Tests for channels.email_parsing: every fixture, every rule, and a never-raise property.

Plain pytest, no database: the module under test is pure Python on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email_parsing import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    EmailParseError,
    ParsedEmail,
    SkippedAttachment,
    decode_bytes,
    decode_header_text,
    find_case_reference,
    html_to_text,
    parse_email,
)

FIXTURES = Path(__file__).parent / "fixtures" / "emails"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.eml"))
CST = timezone(timedelta(hours=8))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **kwargs: int) -> ParsedEmail:
    return parse_email(load(name), **kwargs)


def make(headers: str, body: str = "Hello, this is my complaint.\n") -> bytes:
    """Build a small message from header lines (LF in source, CRLF on the wire)."""
    head = headers.strip("\n").replace("\n", "\r\n")
    return (head + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def b_word(text: str, label: str, codec: str | None = None) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec or label)).decode()}?="


def assert_storable(value: str) -> None:
    """Strings must go into PostgreSQL: no NUL and no lone surrogates."""
    assert "\x00" not in value
    assert not re.search("[\ud800-\udfff]", value)


# --------------------------------------------------------------------------------------
# Fixtures, one test each
# --------------------------------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    assert FIXTURE_NAMES == [
        "auto_reply_out_of_office.eml",
        "base64_utf8.eml",
        "bogus_charset.eml",
        "bounce_mailer_daemon.eml",
        "gbk_body_gb2312_subject.eml",
        "html_only.eml",
        "multipart_alternative.eml",
        "multipart_mixed_attachments.eml",
        "no_message_id.eml",
        "plain_utf8_chinese.eml",
        "quoted_printable.eml",
        "reply_with_case_ref.eml",
    ]


def test_plain_utf8_chinese() -> None:
    email = parse("plain_utf8_chinese.eml")
    assert email.message_id == "20260301093015.4F2A1@mail.example.com"
    assert email.from_name == "张伟"
    assert email.from_address == "zhang.wei@example.com"  # lower-cased
    assert email.to_addresses == ["complaints@shop.example.cn"]
    assert email.subject == "投诉：快递延误三周仍未送达"
    assert email.date == datetime(2026, 3, 1, 9, 30, 15, tzinfo=CST)
    assert email.in_reply_to is None
    assert email.references == []
    assert email.text.startswith("您好：\n\n我在 2月5日 下单的订单（订单号 88120345）")
    assert email.text.endswith("张伟")
    assert "\r" not in email.text
    assert email.attachments == []
    assert email.skipped_attachments == []
    assert email.is_automatic is False
    assert email.case_reference is None


def test_gbk_body_and_gb2312_subject_with_gbk_only_characters() -> None:
    raw = load("gbk_body_gb2312_subject.eml")
    assert b"=?gb2312?B?" in raw
    # The fixture really is "wrong": these characters are not encodable in GB2312.
    with pytest.raises(UnicodeEncodeError):
        "镕".encode("gb2312")
    email = parse_email(raw)
    assert email.subject == "关于朱镕先生的退款投诉"
    assert email.from_name == "王喆"
    assert email.from_address == "wangzhe@example.net"
    assert email.text == "客服您好：\n我替同事朱镕先生投诉，退款申请已经提交十天还没有到账。\n王喆"
    assert "\ufffd" not in email.subject + email.text


def test_base64_subject_split_mid_character_and_base64_body() -> None:
    raw = load("base64_utf8.eml")
    assert raw.count(b"=?UTF-8?B?") == 2
    email = parse_email(raw)
    assert email.subject == "质量问题：收到的商品有破损"
    assert email.from_name == "李娜"
    assert email.text == "收到的杯子外包装完好，但杯子本身有裂缝。\n附上照片稍后补发。\n李娜"
    assert email.date == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_quoted_printable_body() -> None:
    raw = load("quoted_printable.eml")
    assert b"=\r\n" in raw  # soft line breaks present
    email = parse_email(raw)
    assert "I want a full refund — not a voucher. Price paid: €59.90." in email.text
    assert "退款请原路返回。" in email.text
    assert "=E2" not in email.text and "=\n" not in email.text
    assert email.from_name == "Anna Müller"
    assert email.to_addresses == ["complaints@shop.example.cn", "support@shop.example.cn"]
    assert email.date is not None and email.date.utcoffset() == timedelta(hours=1)


def test_html_only_is_converted_to_readable_text() -> None:
    email = parse("html_only.eml")
    assert email.text == (
        "您好，\n\n我要投诉贵店的售后服务&配送速度。\n订单号：55500123\n\n"
        "- 第一次联系：3月1日\n- 第二次联系：3月3日\n\n金额 ¥299 元\n状态 未退款\n\n谢谢<客服>"
    )
    for leaked in ("SCRIPT", "STYLE", "alert", "color", "ignored title", "<p>", "<b>", "<br"):
        assert leaked not in email.text


def test_multipart_alternative_prefers_plain_text() -> None:
    email = parse("multipart_alternative.eml")
    assert email.text == "您好，\n我的会员积分被无故清零了，请恢复。\n赵磊"
    assert "HTML-ONLY-MARKER" not in email.text
    assert email.attachments == []


def test_multipart_mixed_attachments() -> None:
    email = parse("multipart_mixed_attachments.eml")
    assert email.text == "您好，附件是发票、照片和材料清单。\n孙丽"
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("invoice-2026-0307.pdf", "application/pdf"),
        ("photo.png", "image/png"),
        ("投诉材料清单.txt", "text/plain"),  # RFC 2231, continued over two parameters
    ]
    pdf, png, listing = email.attachments
    assert pdf.payload.startswith(b"%PDF-1.4") and pdf.payload.endswith(b"%%EOF\n")
    assert png.payload.startswith(b"\x89PNG\r\n\x1a\n")
    assert listing.payload.decode("utf-8") == "1. 发票\n2. 照片\n3. 聊天记录截图\n"
    for attachment in email.attachments:
        assert isinstance(attachment, Attachment)
        assert attachment.size == len(attachment.payload)
    assert email.skipped_attachments == []


def test_reply_with_case_reference_and_threading_headers() -> None:
    email = parse("reply_with_case_ref.eml")
    assert email.subject == "Re: 回复：[TS-2026-000123] 订单问题"
    assert email.case_reference == "TS-2026-000123"
    assert find_case_reference(email.subject) == "TS-2026-000123"
    assert email.in_reply_to == "case-TS-2026-000123.1@complaints.shop.example.cn"
    assert email.references == [
        "case-TS-2026-000123.0@complaints.shop.example.cn",
        "case-TS-2026-000123.1@complaints.shop.example.cn",
    ]
    assert email.text.startswith("谢谢，已经收到退款。")
    assert email.is_automatic is False


def test_out_of_office_auto_reply() -> None:
    email = parse("auto_reply_out_of_office.eml")
    assert email.is_automatic is True
    assert email.subject.startswith("自动回复")
    assert email.case_reference == "TS-2026-000200"
    assert "休假" in email.text


def test_bounce_from_mailer_daemon() -> None:
    email = parse("bounce_mailer_daemon.eml")
    assert email.is_automatic is True
    assert email.from_address == "mailer-daemon@mx.shop.example.cn"
    assert email.from_name == "Mail Delivery System"
    assert email.text.startswith("This is the mail system at host mx.shop.example.cn.")
    # The returned original is kept as a .eml attachment, not mixed into the body text.
    assert "Original notification text" not in email.text
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("message.eml", "message/rfc822")
    ]
    assert b"[TS-2026-000300] Your complaint" in email.attachments[0].payload
    assert "Reporting-MTA" not in email.text


def test_bogus_charset_labels_fall_back_gracefully() -> None:
    email = parse("bogus_charset.eml")
    assert email.subject == "发票开错了"
    assert email.text == "发票抬头开错了，请重新开具。\n吴芳"
    assert email.from_name == "Wu Fang"


def test_missing_message_id_gets_a_stable_hash() -> None:
    raw = load("no_message_id.eml")
    email = parse_email(raw)
    assert email.message_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parse_email(raw).message_id == email.message_id  # stable across runs
    assert parse_email(raw + b"\r\nP.S.").message_id != email.message_id
    assert email.from_name == "Zhou Min"
    assert email.text == "My parcel 99001234 is missing. Please call me."


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_parses_to_storable_values(name: str) -> None:
    email = parse(name)
    assert isinstance(email, ParsedEmail)
    assert email.message_id and "<" not in email.message_id and ">" not in email.message_id
    assert email.from_address == email.from_address.lower() and "@" in email.from_address
    assert email.text.strip()
    assert email.date is not None and email.date.tzinfo is not None
    for value in [email.subject, email.text, email.from_name, *email.to_addresses]:
        assert_storable(value)
    assert not re.search(r"<(p|div|br|script|style|html)\b", email.text, re.IGNORECASE)
    with pytest.raises(AttributeError):
        email.subject = "changed"  # type: ignore[misc]  # frozen


# --------------------------------------------------------------------------------------
# Automatic mail detection
# --------------------------------------------------------------------------------------

BASE_HEADERS = "From: Customer <customer@example.com>\nTo: complaints@shop.example.cn\n"


@pytest.mark.parametrize(
    "extra",
    [
        "Subject: Hi\nAuto-Submitted: auto-replied",
        "Subject: Hi\nAuto-Submitted: auto-generated; type=vacation",
        "Subject: Hi\nX-Autoreply: yes",
        "Subject: Hi\nX-Autorespond: Vacation",
        "Subject: Hi\nPrecedence: bulk",
        "Subject: Hi\nPrecedence: junk",
        "Subject: Hi\nPrecedence: auto_reply",
        "Subject: Hi\nPrecedence: list",
        "Subject: Hi\nReturn-Path: <>",
        "Subject: Auto Reply: your complaint",
        "Subject: Automatic reply: [TS-2026-000123] 订单问题",
        "Subject: Out of Office: back on Monday",
        "Subject: 自动回复：您的邮件已收到",
        "Subject: Undeliverable: Your complaint",
        "Subject: Delivery Status Notification (Failure)",
        "Subject: 系统退信",
        "Subject: 退信：邮件无法送达",
    ],
)
def test_automatic_messages_are_detected(extra: str) -> None:
    assert parse_email(make(BASE_HEADERS + extra)).is_automatic is True


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.net", "postmaster@example.net", "Postmaster@Example.NET"]
)
def test_daemon_senders_are_automatic(sender: str) -> None:
    raw = make(f"From: {sender}\nTo: complaints@shop.example.cn\nSubject: failure notice")
    assert parse_email(raw).is_automatic is True


def test_multipart_report_delivery_status_is_automatic_even_from_a_normal_sender() -> None:
    raw = make(
        "From: mail@relay.example.net\nSubject: Hello\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"',
        "--R\nContent-Type: text/plain\n\nCould not deliver.\n--R\n"
        "Content-Type: message/delivery-status\n\nAction: failed\n\n--R--\n",
    )
    email = parse_email(raw)
    assert email.is_automatic is True
    assert email.text == "Could not deliver."


@pytest.mark.parametrize(
    "extra",
    [
        "Subject: My order never arrived",
        "Subject: Complaint about your auto reply spam",
        "Subject: Re: [TS-2026-000123] still waiting",
        "Subject: Hi\nAuto-Submitted: no",
        "Subject: Hi\nPrecedence: normal",
        "Subject: Hi\nReturn-Path: <customer@example.com>",
        "Subject: Hi\nX-Autoreply: no",
    ],
)
def test_human_messages_are_not_automatic(extra: str) -> None:
    assert parse_email(make(BASE_HEADERS + extra)).is_automatic is False


# --------------------------------------------------------------------------------------
# Case references
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: 回复：[TS-2026-000123] 订单问题", "TS-2026-000123"),
        ("re: ts-2026-000123 follow-up", "TS-2026-000123"),
        ("Fwd: case Ts-2025-1234567", "TS-2025-1234567"),
        ("案件TS-2026-000999的进展", "TS-2026-000999"),
        ("[TS-2026-000123][TS-2026-000456]", "TS-2026-000123"),
        ("TS-2026-12345 has only five digits", None),
        ("XTS-2026-000123 is a different prefix", None),
        ("TS-26-000123", None),
        ("TS-２０２６-０００１２３ full-width digits", None),
        ("No reference here", None),
        ("", None),
    ],
)
def test_find_case_reference(subject: str, expected: str | None) -> None:
    assert find_case_reference(subject) == expected


def test_find_case_reference_accepts_none() -> None:
    assert find_case_reference(None) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Attachments
# --------------------------------------------------------------------------------------


def test_default_attachment_cap_is_ten_mebibytes() -> None:
    assert DEFAULT_MAX_ATTACHMENT_BYTES == 10 * 1024 * 1024


def test_oversized_attachments_are_skipped_with_a_reason() -> None:
    email = parse("multipart_mixed_attachments.eml", max_attachment_bytes=50)
    assert [a.filename for a in email.attachments] == ["投诉材料清单.txt"]  # 42 bytes
    assert [(s.filename, s.content_type, s.size) for s in email.skipped_attachments] == [
        ("invoice-2026-0307.pdf", "application/pdf", 77),
        ("photo.png", "image/png", 67),
    ]
    for skipped in email.skipped_attachments:
        assert isinstance(skipped, SkippedAttachment)
        assert "too large" in skipped.reason and "50" in skipped.reason


def attachment_message(disposition: str, content_type: str = "application/pdf") -> bytes:
    return make(
        BASE_HEADERS
        + 'Subject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nSee attached.\n--B\n"
        f"Content-Type: {content_type}\nContent-Disposition: {disposition}\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--B--\n",
    )


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\me\\\\evil.exe"', "evil.exe"),
        ('attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        ('attachment; filename="/abs/path/report.pdf"', "report.pdf"),
        ('attachment; filename="bad\x01name?.pdf"', "badname_.pdf"),
        (f'attachment; filename="{b_word("发票.pdf", "GBK")}"', "发票.pdf"),
        (f'attachment; filename="{b_word("镕基.pdf", "gb2312", "gbk")}"', "镕基.pdf"),
        ("attachment; filename*=gb2312''%E9%46.pdf", "镕.pdf"),
        ('attachment; filename=".."', "attachment-1.pdf"),
        ("attachment", "attachment-1.pdf"),
    ],
)
def test_attachment_filenames_are_decoded_and_sanitised(disposition: str, expected: str) -> None:
    email = parse_email(attachment_message(disposition))
    assert [a.filename for a in email.attachments] == [expected]
    assert email.attachments[0].payload == b"%PDF-1.4\n"
    assert email.text == "See attached."


def test_empty_attachment_is_recorded_as_skipped() -> None:
    raw = make(
        BASE_HEADERS + 'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nBody\n--B\nContent-Type: image/png\n"
        'Content-Disposition: attachment; filename="a.png"\n\n--B--\n',
    )
    email = parse_email(raw)
    assert email.attachments == []
    assert email.skipped_attachments == [
        SkippedAttachment("a.png", "image/png", 0, "empty attachment")
    ]


# --------------------------------------------------------------------------------------
# Charsets, headers and malformed input
# --------------------------------------------------------------------------------------


def test_decode_bytes_fallback_chain() -> None:
    assert decode_bytes("投诉".encode(), "x-bogus") == "投诉"  # bogus label -> utf-8
    assert decode_bytes("镕".encode("gbk"), "gb2312") == "镕"  # gb2312 label -> gb18030
    assert decode_bytes("投诉".encode("gbk"), None) == "投诉"  # no label: utf-8 fails, gb18030
    assert decode_bytes(b"caf\xe9 au lait", "nonsense") == "café au lait"  # latin-1 last
    assert decode_bytes(b"abc", "base64") == "abc"  # bytes-to-bytes codecs are not charsets
    assert decode_bytes("ok".encode("utf-16"), "utf-16") == "ok"


def test_decode_header_text() -> None:
    gbk = "=?GB2312?B?" + base64.b64encode("镕".encode("gbk")).decode() + "?="
    assert decode_header_text(gbk) == "镕"
    assert decode_header_text("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab"  # RFC 2047 whitespace rule
    assert decode_header_text("Re: =?utf-8?q?=E8=AE=A2=E5=8D=95?= ok") == "Re: 订单 ok"
    assert decode_header_text("=?utf-8?b?!!!?=") == ""  # junk payload: no exception
    assert isinstance(decode_header_text("=?utf-8?b?not base64?= =?gb2312?q?=ZZ?="), str)
    assert decode_header_text("=?utf-8?b?5oqV6K+J?=") == "投诉"  # missing padding tolerated
    assert decode_header_text("plain\r\n folded") == "plain folded"
    assert decode_header_text(None) == ""


@pytest.mark.parametrize("codec", ["utf-8", "gbk"])
def test_raw_8bit_headers_are_decoded(codec: str) -> None:
    raw = "From: 张伟 <zw@example.com>\r\nSubject: 订单问题 镕\r\n\r\n内容\r\n".encode(codec)
    email = parse_email(raw)
    assert email.subject == "订单问题 镕"
    assert email.from_name == "张伟"
    assert email.from_address == "zw@example.com"
    assert email.text == "内容"


def test_gbk_body_under_bogus_label_uses_gb18030_fallback() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: text/plain; charset=klingon\r\n\r\n"
        + "退款还没到账".encode("gbk")
    )
    assert parse_email(raw).text == "退款还没到账"


def test_8bit_body_without_charset() -> None:
    raw = b"From: a@example.com\r\n\r\n" + "没有字符集声明".encode()
    assert parse_email(raw).text == "没有字符集声明"


def test_headers_that_break_policy_default_are_handled() -> None:
    # Both of these raise inside email.policy.default's header parser (IndexError and
    # AttributeError on Python 3.11); parse_email must still return a result.
    raw = make(
        "Message-ID: <[foo]@bar>\nFrom: Customer <customer@example.com>\nTo: a:b:c;d\nSubject: x"
    )
    email = parse_email(raw)
    assert email.message_id == "[foo]@bar"
    assert email.from_address == "customer@example.com"
    assert email.to_addresses == []


def test_message_id_normalisation() -> None:
    email = parse_email(make(BASE_HEADERS + "Message-ID:\n  < abc.123@Example.COM >"))
    assert email.message_id == "abc.123@Example.COM"
    bare = parse_email(make(BASE_HEADERS + "Message-ID: bare-id@example.com"))
    assert bare.message_id == "bare-id@example.com"
    long_id = "x" * 400 + "@example.com"
    hashed = parse_email(make(BASE_HEADERS + f"Message-ID: <{long_id}>")).message_id
    assert hashed.startswith("sha256:") and len(hashed) == 71


def test_dates() -> None:
    assert parse_email(make(BASE_HEADERS)).date is None
    assert parse_email(make(BASE_HEADERS + "Date: not a date")).date is None
    assert parse_email(make(BASE_HEADERS + "Date: Mon, 32 Foo 99999 99:99:99")).date is None
    utc = parse_email(make(BASE_HEADERS + "Date: Mon, 02 Mar 2026 10:00:00 -0000")).date
    assert utc == datetime(2026, 3, 2, 10, 0, tzinfo=UTC) and utc.tzinfo is not None


def test_address_lists() -> None:
    email = parse_email(
        make(
            'From: "Zhang, Wei" <ZW@Example.com>\n'
            f"To: {b_word('客服, 投诉组', 'utf-8')} <Desk@Shop.example.cn>,\n"
            " other@shop.example.cn, desk@shop.example.cn\nSubject: x"
        )
    )
    assert email.from_name == "Zhang, Wei"
    assert email.from_address == "zw@example.com"
    assert email.to_addresses == ["desk@shop.example.cn", "other@shop.example.cn"]


def test_sender_header_is_used_when_from_is_missing() -> None:
    email = parse_email(make("Sender: Helper <helper@example.com>\nSubject: x"))
    assert email.from_address == "helper@example.com"


def test_multipart_without_boundary_keeps_its_text() -> None:
    raw = make(BASE_HEADERS + "Subject: x\nContent-Type: multipart/mixed", "Just text.\n")
    assert parse_email(raw).text == "Just text."


def test_plain_parts_around_an_attachment_are_joined() -> None:
    raw = make(
        BASE_HEADERS + 'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nPart one.\n--B\nContent-Type: image/gif\n"
        "Content-Disposition: inline; filename=a.gif\nContent-Transfer-Encoding: base64\n\n"
        "R0lGODlhAQABAAAAACw=\n--B\nContent-Type: text/plain\n\nPart two.\n--B--\n",
    )
    email = parse_email(raw)
    assert email.text == "Part one.\n\nPart two."
    assert [a.filename for a in email.attachments] == ["a.gif"]


def test_named_inline_text_part_is_an_attachment_not_body() -> None:
    raw = make(
        BASE_HEADERS + 'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nMy complaint.\n--B\nContent-Type: text/plain\n"
        "Content-Disposition: inline; filename=notes.txt\n\nnotes\n--B--\n",
    )
    email = parse_email(raw)
    assert email.text == "My complaint."
    assert [(a.filename, a.payload) for a in email.attachments] == [("notes.txt", b"notes")]


def test_nul_bytes_are_removed() -> None:
    email = parse_email(b"From: a@example.com\r\nSubject: a\x00b\r\n\r\nte\x00xt")
    assert email.subject == "ab"
    assert email.text == "text"


# --------------------------------------------------------------------------------------
# HTML conversion
# --------------------------------------------------------------------------------------


def test_html_to_text_handles_sloppy_markup() -> None:
    html = (
        "<html><head><title>Title<body><style>.a{}</style><script>x()</script>"
        "<p>Line one<br/>Line two</p><div><div>Nested</div></div><p>End <b"
    )
    text = html_to_text(html)
    assert text == "Line one\nLine two\n\nNested\n\nEnd"
    assert "<" not in text


def test_html_to_text_never_returns_tags() -> None:
    for html in ["<", "<<>>", "<div", "</p", "<!-- comment", "<![CDATA[x]]>", "a < b", "<?xml?>"]:
        assert not re.search(r"<[A-Za-z/!?]", html_to_text(html)), html


def test_html_part_in_multipart_mixed_without_plain_alternative() -> None:
    raw = make(
        BASE_HEADERS + 'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/html; charset=utf-8\n\n<p>你好<br>世界</p><script>bad()</script>"
        "\n--B--\n",
    )
    assert parse_email(raw).text == "你好\n世界"


# --------------------------------------------------------------------------------------
# Errors and non-email input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"", b"   \r\n", b"X-Foo: bar\r\n\r\n", b"Subject: only\r\n\r\n  "]
)
def test_no_from_and_no_body_raises_email_parse_error(raw: bytes) -> None:
    with pytest.raises(EmailParseError, match="no From address and no body"):
        parse_email(raw)
    assert issubclass(EmailParseError, ValueError)


def test_from_without_body_is_fine() -> None:
    email = parse_email(b"From: a@example.com\r\nSubject: empty\r\n\r\n")
    assert email.from_address == "a@example.com" and email.text == ""


def test_non_email_bytes_return_what_could_be_found() -> None:
    email = parse_email(b"hello world, this is not an email\n")
    assert email.text == "hello world, this is not an email"
    assert email.from_address == ""
    assert email.message_id.startswith("sha256:")


def test_bytearray_and_memoryview_are_accepted() -> None:
    raw = load("plain_utf8_chinese.eml")
    assert parse_email(bytearray(raw)) == parse_email(memoryview(raw)) == parse_email(raw)


def test_deeply_nested_multipart_does_not_raise() -> None:
    depth = 200
    head = "".join(
        f'--B{i}\nContent-Type: multipart/mixed; boundary="B{i + 1}"\n\n' for i in range(depth)
    )
    raw = make(
        BASE_HEADERS + 'Subject: deep\nContent-Type: multipart/mixed; boundary="B0"',
        head + "--B200\nContent-Type: text/plain\n\ndeep text\n",
    )
    assert isinstance(parse_email(raw), ParsedEmail)


# --------------------------------------------------------------------------------------
# Property tests: parse_email never raises anything but EmailParseError
# --------------------------------------------------------------------------------------


def check_never_raises(raw: bytes) -> None:
    try:
        email = parse_email(raw)
    except EmailParseError:
        return
    assert isinstance(email, ParsedEmail)
    for value in [email.subject, email.text, email.from_name, email.message_id]:
        assert isinstance(value, str)
        assert_storable(value)
    assert email.date is None or email.date.tzinfo is not None
    assert all("/" not in a.filename and "\\" not in a.filename for a in email.attachments)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise_unexpectedly(raw: bytes) -> None:
    check_never_raises(raw)


HEADER_NAMES = [
    "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Return-Path",
    "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted",
    "Precedence", "MIME-Version", "Sender",
]  # fmt: skip
HEADER_VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "multipart/mixed; boundary=X",
            'multipart/alternative; boundary="X"',
            "multipart/report; report-type=delivery-status; boundary=X",
            "text/html; charset=gb2312",
            "text/plain; charset*=utf-8''%E6",
            "base64",
            "quoted-printable",
            "attachment; filename*0*=utf-8''%E6%8A; filename*1*=%95.txt",
            "=?gb2312?B?6UY=?= <a@b.c>",
            "=?utf-8?q?=E6=8A?= =?x-bad?b?////?=",
            "<>",
            "<a@b> <c@d",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUES), max_size=10),
    st.binary(max_size=500),
)
def test_email_like_input_never_raises_unexpectedly(
    headers: list[tuple[str, str]], body: bytes
) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    check_never_raises(head.encode("utf-8", "surrogatepass") + b"\r\n--X\r\n" + body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXTURE_NAMES), st.data())
def test_mutated_fixtures_never_raise_unexpectedly(name: str, data: st.DataObject) -> None:
    raw = bytearray(load(name))
    for _ in range(data.draw(st.integers(min_value=1, max_value=8), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="kind")
        pos = data.draw(st.integers(min_value=0, max_value=max(0, len(raw) - 1)), label="pos")
        if kind == "flip" and raw:
            raw[pos] = data.draw(st.integers(min_value=0, max_value=255), label="byte")
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="chunk")
        elif kind == "delete":
            del raw[pos : pos + data.draw(st.integers(1, 64), label="length")]
        else:
            del raw[pos:]
    check_never_raises(bytes(raw))
