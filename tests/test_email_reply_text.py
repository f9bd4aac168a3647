"""Quote and signature stripping of e-mail replies, on real-world client styles (fixtures in
tests/fixtures/replies: each .eml as the client writes it, and the text the customer wrote)."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email_parsing import parse_email
from channels.email_parsing.reply_text import reply_text

REPLIES = Path(__file__).parent / "fixtures" / "replies"
STYLES = sorted(p.stem for p in REPLIES.glob("*.eml"))


def test_at_least_eight_styles_are_covered() -> None:
    assert len(STYLES) >= 8


@pytest.mark.parametrize("style", STYLES)
def test_reply_keeps_exactly_what_the_customer_wrote(style: str) -> None:
    parsed = parse_email((REPLIES / f"{style}.eml").read_bytes())
    expected = (REPLIES / f"{style}.expected.txt").read_text(encoding="utf-8").strip()

    assert reply_text(parsed.text) == expected


def test_a_message_without_a_quote_is_kept_whole() -> None:
    text = "您好，\n谢谢，退款已收到。\n注意：发票抬头写错了。\n- 第一点\n- 第二点"

    assert reply_text(text) == text


def test_a_message_that_is_only_a_quote_leaves_nothing() -> None:
    text = "在 2026-12-01 10:00:00，\"投诉中心\" <desk@example.cn> 写道：\n>尊敬的客户"

    assert reply_text("\n" + text) == ""


def test_a_quote_header_in_the_first_line_is_not_the_customers_text() -> None:
    assert reply_text("-----原始邮件-----\n发件人: a\n收件人: b\n主题: c\n\n旧内容") == ""
