"""What every action on a department request does: who may work on it, the text it stores,
locking (case, then request), the transition, the save and the timeline row."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import HANDLING_STAGES, MAX_FREE_TEXT, Stage
from cases.models import CollaborationRequest, User
from cases.models.collaboration import can_decide_escalation
from cases.services.errors import ActionNotAllowed, ConflictError, InvalidInput
from cases.services.intake import clean_text
from cases.services.transitions import check_transition, lock_case, log_change

TIMELINE_FIELD = "request"

# Stages in which a case may ask for help: while it is handled, and in the second follow-up.
REQUESTABLE_STAGES = (*HANDLING_STAGES, Stage.FOLLOW_UP)


def can_collaborate(request: CollaborationRequest, user: User | None) -> bool:
    """Everyone with a part in the request may add to-dos and progress notes: the department's
    liaison, the requesting side (requester, case team, supervisors) and the deciding manager."""
    return (
        perms.can_answer_request(request, user)
        or perms.can_review_request(request, user)
        or (request.escalated_to_id is not None and can_decide_escalation(request, user))
    )


def board_text(value: str | None, field: str, message: str, *, required: bool = True) -> str:
    """A board text as it may be stored: without NUL or lone surrogates (callers pass what
    people typed, and PostgreSQL refuses a NUL: a 500), stripped, checked."""
    text = clean_text(value).strip()
    if required and not text:
        raise InvalidInput(message, field=field)
    if len(text) > MAX_FREE_TEXT:
        raise InvalidInput(
            _("Keep it under %(n)s characters.") % {"n": MAX_FREE_TEXT}, field=field
        )
    return text


def lock_request(
    request_id: int, expected_version: int | None = None
) -> CollaborationRequest:
    """Lock the case, then the request (call inside ``transaction.atomic``). ``expected_version``
    is the request version the actor saw (the board card): a stale card is refused instead of
    acting on a changed request."""
    case_id = (
        CollaborationRequest.objects.filter(pk=request_id).values_list("case_id", flat=True)
        .first()
    )
    if case_id is None:
        raise ActionNotAllowed(_("This request does not exist."))
    case = lock_case(case_id)
    req = (
        CollaborationRequest.objects.select_for_update(of=("self",))
        .select_related("department", "requesting_department", "escalated_to", "requested_by")
        .get(pk=request_id)
    )
    req.case = case
    if expected_version is not None and req.version != expected_version:
        raise ConflictError(
            _("Someone else changed this request a moment ago. Reload it and try again.")
        )
    return req


def log_step(
    req: CollaborationRequest, *, name: str, source: str, actor: User | None, text: str = ""
) -> None:
    """Write the step's timeline row on the case: ``field="request"``, note
    "<department>: <text>"."""
    label = str(req.department)
    log_change(
        req.case, field=TIMELINE_FIELD, name=name, source=source, target=req.status,
        actor=actor, note=f"{label}: {text}" if text else label,
    )


def run_step(req: CollaborationRequest, name: str, actor: User) -> str:
    """Run one request transition (permission and conditions checked); return the source."""
    method = check_transition(req, name, actor)
    source = str(req.status)
    method()
    return source


def save_request(req: CollaborationRequest) -> None:
    """Save with the version bumped, so a board card read before this step is stale."""
    req.version += 1
    req.save()
