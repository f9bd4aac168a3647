"""To-dos and progress notes on an open department request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import CollaborationNote, CollaborationRequest, CollaborationTodo, User
from cases.models.collaboration import RequestStatus
from cases.services.attachments import atomic_with_files, attach_files
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.mentions import mentions_alert_board_note
from channels.attachments import CheckedFile

from .steps import board_text, can_collaborate, lock_request, log_step, save_request

_CLOSED = (RequestStatus.DONE, RequestStatus.WITHDRAWN)


def todo_assignees(req: CollaborationRequest) -> list[User]:
    """Who a to-do can be given to: the department's people (members and liaison) and the
    requesting side (requester, owner, handler)."""
    ids = {req.department.liaison_id, req.requested_by_id, req.case.owner_id, req.case.handler_id}
    users = User.objects.filter(is_active=True).filter(
        pk__in=[i for i in ids if i is not None]
    ) | User.objects.filter(is_active=True, department=req.department_id)
    return list(users.distinct().order_by("display_name", "username"))


def _check_workable(req: CollaborationRequest, actor: User) -> None:
    if not can_collaborate(req, actor):
        raise ActionForbidden(_("You may not work on this request."))
    if req.status in _CLOSED:
        raise ActionNotAllowed(_("This request is closed."))


@transaction.atomic
def todo_add(
    *, actor: User, request_id: int, title: str, assignee: User | None = None,
    due_at: datetime | None = None,
) -> CollaborationTodo:
    """Add a checklist item (with an optional assignee and due time) to an open request."""
    req = lock_request(request_id)
    _check_workable(req, actor)
    text = board_text(title, "title", _("Say what needs doing."))
    if len(text) > 200:
        raise InvalidInput(_("Keep the to-do under 200 characters."), field="title")
    now = timezone.now()
    if assignee is not None and assignee.pk not in {u.pk for u in todo_assignees(req)}:
        raise InvalidInput(
            _("Give the to-do to someone of the department or the requesting side."),
            field="assignee",
        )
    if due_at is not None and due_at <= now:
        raise InvalidInput(_("The due time is in the past."), field="due_at")
    todo = CollaborationTodo.objects.create(
        request=req, title=text, assignee=assignee, due_at=due_at, created_by=actor,
        created_at=now,
    )
    save_request(req)
    return todo


@transaction.atomic
def todo_toggle(*, actor: User, todo_id: int) -> CollaborationTodo:
    """Tick a to-do off, or reopen it."""
    request_id = (
        CollaborationTodo.objects.filter(pk=todo_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise ActionNotAllowed(_("This to-do does not exist."))
    req = lock_request(request_id)
    _check_workable(req, actor)
    todo = CollaborationTodo.objects.select_for_update().get(pk=todo_id)
    if todo.done_at is None:
        todo.done_at, todo.done_by = timezone.now(), actor
    else:
        todo.done_at, todo.done_by = None, None
    todo.save(update_fields=["done_at", "done_by"])
    save_request(req)
    return todo


@atomic_with_files()
def request_add_note(
    *, actor: User, request_id: int, body: str,
    files: Sequence[UploadedFile | CheckedFile] = (),
) -> CollaborationNote:
    """A progress note on the request; it also appears on the case timeline. ``files`` are
    shared with the request's department (its liaison may download them; checked as at
    intake, InvalidInput and nothing written when one is refused); with files the text may
    be left empty, the note then names them. The people it mentions who may see the
    request are alerted (``mention_outcome`` on the returned note)."""
    req = lock_request(request_id)
    _check_workable(req, actor)
    text = board_text(body, "body", _("Write the progress note."), required=not files)
    rows = attach_files(case=req.case, files=files, actor=actor, request=req)
    if rows:
        names = ", ".join(r.original_name for r in rows)
        text = "\n".join(filter(None, [text, _("Files shared: %(names)s") % {"names": names}]))
    note = CollaborationNote.objects.create(request=req, author=actor, body=text,
                                            created_at=timezone.now())
    note.mention_outcome = mentions_alert_board_note(author=actor, note=note)
    save_request(req)
    log_step(req, name="request_note", source=req.status, actor=actor, text=text)
    return note
