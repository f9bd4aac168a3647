"""Customer attachments: what we accept, and where it is kept.

A file is accepted by what its bytes are (magic numbers), never by the name or the type the
sender claims, and only from a short list of evidence formats (photos, PDF, plain text,
Office documents, forwarded e-mails). It is stored under PRIVATE_MEDIA_ROOT (outside every
URL space) under a random name with the extension of the sniffed type, and served only by the
authenticated download view, always as a download with ``nosniff``.
"""

from __future__ import annotations

import io
import mimetypes
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseAttachment, CaseNote, CollaborationRequest, User

MAX_FILES = 5


def max_bytes() -> int:
    return int(getattr(settings, "CHANNELS_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024))


def private_storage() -> FileSystemStorage:
    """Storage under PRIVATE_MEDIA_ROOT: no base URL, so nothing in it has a public address."""
    return FileSystemStorage(
        location=str(settings.PRIVATE_MEDIA_ROOT), base_url=None,
        file_permissions_mode=0o640, directory_permissions_mode=0o750,
    )


# sniffed type -> stored extension
ALLOWED_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "message/rfc822": ".eml",
}


@dataclass(frozen=True)
class IncomingFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str  # the sender's name, cleaned, for display and the download's filename
    content_type: str  # sniffed
    data: bytes


class AttachmentRejected(ValueError):
    """The file is not one we keep (the message says why, for the sender)."""


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    head = data[:8192]
    for codec in ("utf-8", "gb18030"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            # a multi-byte character cut at the sample's end is fine
            try:
                text = head[:-3].decode(codec)
            except UnicodeDecodeError:
                continue
        return not re.match(r"\s*<(!doctype|html|script|svg|\?xml)", text, re.IGNORECASE)
    return False


def _office_type(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        return None
    if "word/document.xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return None


def _looks_like_email(data: bytes) -> bool:
    head = data[:2048]
    return bool(re.match(rb"(?:[A-Za-z-]+:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*){2,}", head)) and (
        re.search(rb"(?im)^(from|subject|message-id|date):", head) is not None
    )


def sniff(data: bytes, claimed_type: str = "") -> str | None:
    """The type the bytes really are, if it is one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"heis"):
        return "image/heic"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    if claimed_type == "message/rfc822" and _looks_like_email(data):
        return "message/rfc822"
    if _looks_like_text(data):
        return "text/plain"
    return None


def clean_filename(name: str, content_type: str) -> str:
    """A display name: last path component, no control characters, the sniffed extension."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*\ud800-\udfff]', "_", name).strip().strip(".")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:150] or "attachment"
    return stem + ALLOWED_TYPES.get(content_type, mimetypes.guess_extension(content_type) or "")


def check(file: IncomingFile, claimed_type: str = "") -> CheckedFile:
    """Accept or reject one file (AttachmentRejected says why)."""
    if not file.data:
        raise AttachmentRejected(_("“%(name)s” is empty.") % {"name": file.name})
    if len(file.data) > max_bytes():
        raise AttachmentRejected(
            _("“%(name)s” is larger than %(mb)d MB.")
            % {"name": file.name, "mb": max_bytes() // (1024 * 1024)}
        )
    content_type = sniff(file.data, claimed_type)
    if content_type is None:
        raise AttachmentRejected(
            _("“%(name)s” is not a photo, PDF, text or Office document.") % {"name": file.name}
        )
    return CheckedFile(clean_filename(file.name, content_type), content_type, file.data)


def store(
    case: Case, files: list[CheckedFile], *, note: CaseNote | None = None,
    request: CollaborationRequest | None = None, uploaded_by: User | None = None,
) -> list[CaseAttachment]:
    """Write the files privately and record them on the case (call inside the transaction
    that creates the case; the returned rows' files are removed by the caller with
    ``discard`` if it rolls back). A failure here removes the files it wrote itself.
    ``note``/``request``/``uploaded_by``: for files added after intake."""
    rows = []
    now = timezone.now()
    try:
        for item in files:
            suffix = ALLOWED_TYPES[item.content_type]
            saved = private_storage().save(f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{suffix}",
                                           ContentFile(item.data))
            attachment = CaseAttachment(
                case=case, original_name=item.name[:200], content_type=item.content_type,
                size=len(item.data), note=note, request=request, uploaded_by=uploaded_by,
            )
            attachment.file.name = saved
            rows.append(attachment)
        CaseAttachment.objects.bulk_create(rows)
    except BaseException:
        discard(rows)
        raise
    return rows


def discard(rows: list[CaseAttachment]) -> None:
    """Remove stored files whose database rows were rolled back."""
    for row in rows:
        try:
            private_storage().delete(row.file.name)
        except OSError:
            pass
