"""Auto-replies, bounces and bulk mail: messages sent by a machine, which intake skips."""

from __future__ import annotations

import re

from .headers import FOLD

_AUTOMATIC_SUBJECT = re.compile(
    r"""^\s*(?:\[[^\]]*\]\s*)?(?:
        auto(?:matic)?[\s_-]*(?:reply|replied|response|answer)
      | autoreply
      | out\s+of\s+(?:the\s+)?office
      | 自动回复 | 自動回覆 | 自动答复 | 自動回復
      | undeliverable | undelivered\s+mail | returned\s+mail
      | delivery\s+status\s+notification | delivery\s+(?:failure|failed|has\s+failed)
      | mail\s+delivery\s+(?:failed|failure|system|subsystem)
      | (?:系统)?退信 | 邮件投递失败 | 无法投递
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
_REPORT_TYPES = frozenset({"delivery-status", "disposition-notification"})


def _header_token(value: str | None) -> str:
    return FOLD.sub(" ", value or "").split(";", 1)[0].strip().strip('"').lower()


def is_automatic(
    headers: dict[str, str], from_address: str, subject: str, report_types: set[str]
) -> bool:
    """Whether the message was sent by a machine (auto-reply, bounce, bulk).

    Answering those would create reply loops and junk cases, so intake must skip them.
    """
    auto_submitted = _header_token(headers.get("auto-submitted"))
    if auto_submitted and auto_submitted != "no":
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers and _header_token(headers[name]) not in {"no", "false", "0"}:
            return True
    if _header_token(headers.get("precedence")) in _BULK_PRECEDENCE:
        return True
    return_path = headers.get("return-path")
    if return_path is not None and re.fullmatch(r"\s*<\s*>\s*", return_path):
        return True
    if report_types & _REPORT_TYPES:
        return True
    local_part = from_address.split("@", 1)[0]
    if local_part in _AUTOMATIC_SENDERS:
        return True
    raw_from = (headers.get("from") or "").lower()
    if "mailer-daemon" in raw_from:
        return True
    return bool(_AUTOMATIC_SUBJECT.search(subject))
