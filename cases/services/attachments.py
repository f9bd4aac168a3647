"""Files added to a case after intake: on a reply, an internal note, or a department request.

They are checked exactly as at intake (``channels.attachments``: count, size, type sniffed from
the bytes) and kept in the same private storage. A file on a department request is shared with
that department (its liaison may download it); every other file is for the desk only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import Case, CaseAttachment, CaseNote, CollaborationRequest, User
from cases.services.errors import InvalidInput
from channels import attachments as intake_files

_written: ContextVar[list[CaseAttachment] | None] = ContextVar("attachments_written",
                                                                default=None)


def attachments_check(
    files: Sequence[UploadedFile | intake_files.CheckedFile],
) -> list[intake_files.CheckedFile]:
    """Check uploaded files as intake does (a file already checked, e.g. by the form's
    ``MultipleFileField``, passes). Raises InvalidInput(field="files") naming the first
    refused file; reads nothing larger than the limit."""
    files = [f for f in files if f is not None]
    if len(files) > intake_files.MAX_FILES:
        raise InvalidInput(
            ngettext("Attach at most %(n)d file.", "Attach at most %(n)d files.",
                     intake_files.MAX_FILES) % {"n": intake_files.MAX_FILES}, field="files")
    checked = []
    for upload in files:
        if isinstance(upload, intake_files.CheckedFile):
            checked.append(upload)
            continue
        name = upload.name or "attachment"
        if upload.size is not None and upload.size > intake_files.max_bytes():
            raise InvalidInput(
                _("“%(name)s” is larger than %(mb)d MB.")
                % {"name": name, "mb": intake_files.max_bytes() // (1024 * 1024)},
                field="files")
        upload.seek(0)
        data = b"".join(upload.chunks())
        try:
            checked.append(intake_files.check(intake_files.IncomingFile(name, data),
                                              getattr(upload, "content_type", "") or ""))
        except intake_files.AttachmentRejected as exc:
            raise InvalidInput(str(exc), field="files") from exc
    return checked


@contextmanager
def atomic_with_files() -> Iterator[None]:
    """``transaction.atomic`` that also removes the files ``attach_files`` stored inside it
    when the transaction rolls back (the database rows go with the rollback). Nested in
    another, its files are handed to the outer one, whose rollback removes them too."""
    outer = _written.get()
    written: list[CaseAttachment] = []
    token = _written.set(written)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        intake_files.discard(written)
        raise
    finally:
        _written.reset(token)
    if outer is not None:
        outer.extend(written)


def attach_files(
    *, case: Case, files: Sequence[UploadedFile | intake_files.CheckedFile], actor: User | None,
    note: CaseNote | None = None, request: CollaborationRequest | None = None,
) -> list[CaseAttachment]:
    """Store ``files`` (uploads, or files already passed through ``attachments_check``) on
    ``case``, linked to ``note`` or shared with ``request``'s department, uploaded by ``actor``.

    Raises InvalidInput(field="files") before writing anything when a file is refused. Call
    it inside ``atomic_with_files()`` (the services here do), so a rollback removes the files
    too. Returns the saved rows."""
    checked = attachments_check(files)
    if not checked:
        return []
    rows = intake_files.store(case, checked, note=note, request=request, uploaded_by=actor)
    written = _written.get()
    if written is not None:
        written.extend(rows)
    return rows
