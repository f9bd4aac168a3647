"""Delivery backends for outbox notices, one per channel, chosen in settings.

Email goes through Django's mail backends (EMAIL_BACKEND: SMTP in production, a file folder or
the console by default). SMS and WeChat go through the classes named in COMPLAINTS_SMS_BACKEND
and COMPLAINTS_WECHAT_BACKEND; a gateway integration is one small class with this interface:

    class MyGateway:
        def send(self, notice: Notice) -> str:
            # deliver; pass notice.idempotency_key as the gateway's client message id so the
            # gateway itself drops a repeat; return the gateway's message id ("" if none).
        def was_delivered(self, idempotency_key: str) -> bool | None:   # optional
            # ask the gateway whether a message with this key was accepted; None: unknown.

``send`` raises PermanentDeliveryError for what a retry cannot fix (invalid number, blocked
recipient) and anything else for transient trouble (timeouts, 5xx), which is retried.
``was_delivered`` is how the outbox checks the idempotency key at send time: a notice whose
earlier attempt ended without a recorded outcome (a worker killed mid-send) is asked about
first, and not sent again if the gateway already has it. A backend without ``was_delivered``
(plain SMTP) cannot be asked: such a notice is held as "uncertain" for a person to decide in
the admin. A provider API would be the way to answer for e-mail (django-anymail's ESPs keep a
message log per Message-ID); wrap it in a backend with ``was_delivered`` when one is used.

Contact data never goes to logs: the logging backends write the notice id, kind and length only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone
from django.utils.module_loading import import_string

from cases.choices import ContactChannel
from cases.models import Notice
from cases.models.notices import NoticeKind

logger = logging.getLogger("cases.notices")


class PermanentDeliveryError(Exception):
    """Delivery can never succeed (bad address, recipient blocked): do not retry."""


class NoticeBackend(Protocol):
    def send(self, notice: Notice) -> str: ...


def key_digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def message_id_for(idempotency_key: str) -> str:
    """A stable Message-ID per notice: a repeat after a crash carries the same id, which mail
    servers and clients use to recognise and fold duplicates. The domain is
    NOTICE_MESSAGE_ID_DOMAIN, else that of DEFAULT_FROM_EMAIL (a display name is allowed)."""
    domain = getattr(settings, "NOTICE_MESSAGE_ID_DOMAIN", "") or (
        settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "complaints.local"
    )
    return f"<notice-{key_digest(idempotency_key)}@{domain}>"


def notice_files(notice: Notice) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, type) of the case files a notice carries (``attachment_ids`` in
    its context; a reply's files), read from private storage."""
    ids = (notice.context or {}).get("attachment_ids") or []
    if not ids:
        return []
    from cases.models import CaseAttachment
    from channels.attachments import private_storage

    storage = private_storage()
    files = []
    for row in CaseAttachment.objects.filter(pk__in=ids, case_id=notice.case_id):
        with storage.open(row.file.name, "rb") as handle:
            files.append((row.original_name, handle.read(), row.content_type))
    return files


def delivery_check(backend: NoticeBackend) -> Callable[[str], bool | None] | None:
    """The backend's ``was_delivered(idempotency_key)``, or None when its transport cannot
    say whether a message was accepted (plain SMTP)."""
    check = getattr(backend, "was_delivered", None)
    return check if callable(check) else None


class EmailNoticeBackend:
    """Email through Django's configured mail backend, one message per notice, carrying the
    idempotency key in the Message-ID and an X-Complaints-Notice-Key header."""

    def send(self, notice: Notice) -> str:
        from smtplib import SMTPRecipientsRefused

        message_id = (f"<{notice.message_id}>" if notice.message_id
                      else message_id_for(notice.idempotency_key))
        headers = {"Message-ID": message_id, "X-Complaints-Notice-Key": notice.idempotency_key}
        reply_to = []
        if notice.kind == NoticeKind.REPLY and notice.case_id:
            # A person wrote it: the customer's answer goes to the case's reply address.
            from channels.reply_address import reply_address_for

            reply_to = [reply_address_for(notice.case_id)]
        else:
            headers["Auto-Submitted"] = "auto-generated"
        message = EmailMessage(
            subject=notice.subject or "", body=notice.body,
            from_email=settings.DEFAULT_FROM_EMAIL, to=[notice.recipient], reply_to=reply_to,
            headers=headers, connection=get_connection(fail_silently=False),
        )
        for name, data, content_type in notice_files(notice):
            message.attach(name, data, content_type)
        try:
            message.send()
        except SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError("recipient refused by the mail server") from exc
        return message_id


class LoggingSmsBackend:
    """Logs that an SMS would be sent (the default until a gateway is configured)."""

    channel = "SMS"

    def send(self, notice: Notice) -> str:
        logger.info("%s notice %s (%s, %d chars) would be sent", self.channel, notice.pk,
                    notice.kind, len(notice.body))
        return ""


class LoggingWeChatBackend(LoggingSmsBackend):
    channel = "WeChat"


class FileSmsBackend:
    """Writes each message as a JSON file named after its idempotency key into
    NOTICE_FILE_PATH/<channel>/ (the embedded run's way to see what customers would get).

    Like a gateway with client message ids it answers ``was_delivered``, and a file is written
    atomically (temp file + rename), so a message is either fully there or not at all."""

    folder_name = "sms"

    def __init__(self) -> None:
        self.folder = Path(settings.NOTICE_FILE_PATH) / self.folder_name
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, idempotency_key: str) -> Path:
        return self.folder / f"{key_digest(idempotency_key)}.json"

    def was_delivered(self, idempotency_key: str) -> bool:
        return self.path_for(idempotency_key).exists()

    def send(self, notice: Notice) -> str:
        path = self.path_for(notice.idempotency_key)
        if path.exists():  # the gateway drops a repeated client message id
            return path.name
        payload = {"key": notice.idempotency_key, "to": notice.recipient, "kind": notice.kind,
                   "language": notice.language, "body": notice.body,
                   "at": timezone.now().isoformat()}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
        return path.name


class FileWeChatBackend(FileSmsBackend):
    folder_name = "wechat"


def backend_for(channel: str) -> NoticeBackend:
    """The backend instance for a notice channel (phone means SMS: a call cannot be queued)."""
    if channel == ContactChannel.EMAIL:
        return EmailNoticeBackend()
    path = (
        settings.COMPLAINTS_WECHAT_BACKEND if channel == ContactChannel.WECHAT
        else settings.COMPLAINTS_SMS_BACKEND
    )
    return import_string(path)()
