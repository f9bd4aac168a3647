"""The new text of an e-mail reply: the quoted earlier messages and the signature removed.

English-language clients (Gmail "On ... wrote:", Outlook "From: ... Sent: ...", Apple Mail,
"-----Original Message-----") are split off by ``mail-parser-reply``. Its Chinese patterns
miss what Chinese clients write (full-width colons, Foxmail and QQ Mail's "原始邮件" rulers,
NetEase's "在 … 写道："), and its sign-off and disclaimer lists ("Thanks,", "谢谢，", "注意：")
cut a customer's own sentences, so the library runs with English headers only, its
``full_body`` (signature lists not applied) is taken, and the Chinese quote headers, the
"-- " delimiter and mobile sign-offs ("Sent from my iPhone", "发自我的iPhone") are cut here.
"""

from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage

_COLON = r"[:：]"
# A line where a quoted earlier message begins, as Chinese clients write it.
_WROTE = r"(?:写道|寫道)\s*" + _COLON
_QUOTE_START = re.compile(
    r"""^(?:>\s?)*(?:
        -{2,}\s*(?:原始邮件|原始郵件|Original|转发邮件|轉寄郵件)\s*-{2,}  # Foxmail, QQ, Outlook
      | 在\s*\S.{0,160}?""" + _WROTE + r"""                     # NetEase 163/126, Apple zh
      | .{0,160}?于\s*\d{4}\s*年.{0,80}?""" + _WROTE + r"""       # Gmail zh
      | \d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,160}?""" + _WROTE + r"""
    )\s*$""",
    re.VERBOSE | re.MULTILINE,
)
# An Outlook / QQ header block: "发件人：" and, within the next three lines, another header.
_FIELDS = "发件人|發件人|发送时间|發送時間|日期|时间|收件人|主题|主旨|抄送"
_HEADER_FIELD = rf"(?:>\s?)*\**\s*(?:{_FIELDS})\s*\**{_COLON}"
_HEADER_BLOCK = re.compile(
    rf"^(?:>\s?)*\**\s*(?:发件人|發件人|From)\s*\**{_COLON}.*(?:\n.*){{0,2}}\n{_HEADER_FIELD}",
    re.MULTILINE,
)
# Mobile sign-offs ("发自我的iPhone", "来自网易邮箱大师") and the "-- " signature delimiter.
_SIGN_OFF = re.compile(
    r"^(?:(?:发自|来自|發自|來自)我的\s*\S.{0,30}|来自(?:网易|QQ|腾讯|阿里).{0,20}|--\s?"
    r"|Sent from my \S.{0,30}|Get Outlook for \S.{0,30})$",
    re.MULTILINE | re.IGNORECASE,
)
# What a cut leaves dangling above a quote: rulers and blank lines.
_TRAILING_RULERS = re.compile(r"(?:\s*^[ _\-=*]{8,}\s*)+\Z", re.MULTILINE)


def _cut_at_first(text: str, *patterns: re.Pattern[str], skip_start: bool = False) -> str:
    """``text`` up to the earliest match of any pattern (``skip_start``: not one at 0)."""
    cut = len(text)
    for pattern in patterns:
        for match in pattern.finditer(text):
            if match.start() > 0 or not skip_start:
                cut = min(cut, match.start())
                break
    return text[:cut]


def reply_text(text: str) -> str:
    """The text the sender wrote in this reply: everything from the first quoted message
    (Chinese or English client styles) and the signature on are removed. Empty when the
    message holds nothing but a quote. Pure: no side effects."""
    text = text.replace("\r\n", "\n").replace("\u00a0", " ").replace("\u3000", " ")
    own = _cut_at_first(text, _QUOTE_START, _HEADER_BLOCK)
    if not own.strip():
        return ""
    message = EmailMessage(text=own, languages=["en"], keep_hyphen_lists=True).read()
    body = message.replies[0].full_body if message.replies else own
    body = _cut_at_first(body, _SIGN_OFF, skip_start=True)
    return _TRAILING_RULERS.sub("", body).strip()
