"""Pauses with lawful reasons: stop a case's clocks while the desk waits for the complainant's
materials, a third-party appraisal or another authority, and start them again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import HANDLING_STAGES, MAX_FREE_TEXT, Stage
from cases.models import Case, CaseAttachment, CasePause, PauseEnd, PauseReason, User
from cases.models.notices import NoticeKind
from cases.services import clocks, pause_clocks
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.notices import notice_queue
from cases.services.transitions import lock_case, log_change, save_case
from channels.attachments import (
    AttachmentRejected,
    CheckedFile,
    IncomingFile,
    check,
    discard,
    store,
)

logger = logging.getLogger(__name__)

# The timeline rows (CaseTransition) a pause and a resume write.
TIMELINE_FIELD = "pause"
# A case is paused while it is being handled (or followed up after a dissatisfied revisit);
# resolving or closing it ends its pause.
PAUSABLE_STAGES = (*HANDLING_STAGES, Stage.FOLLOW_UP)


@dataclass(frozen=True)
class Evidence:
    """An uploaded file offered as the pause's evidence (checked like an intake attachment)."""

    name: str
    data: bytes
    content_type: str = ""


def open_pause(case: Case) -> CasePause | None:
    return (CasePause.objects.filter(case=case, ended_at__isnull=True)
            .select_related("reason").first())


def used_for_reason(case: Case, reason: PauseReason) -> timedelta:
    """How long ``case`` has been paused for ``reason`` so far (ended pauses)."""
    ended = CasePause.objects.filter(case=case, reason=reason, ended_at__isnull=False)
    total = timedelta(0)
    for started, ended_at in ended.values_list("started_at", "ended_at"):
        total += ended_at - started
    return total


def _clean_reason(code: str) -> PauseReason:
    code = (code or "").strip()
    if not code:
        raise InvalidInput(_("Choose the reason for the pause."), field="reason")
    reason = PauseReason.objects.filter(code=code, active=True).first()
    if reason is None:
        raise InvalidInput(_("“%(code)s” is not a pause reason in use.") % {"code": code},
                           field="reason")
    return reason


def _clean_evidence(reason: PauseReason, evidence: Evidence | None) -> CheckedFile | None:
    if evidence is None or not evidence.data:
        if reason.requires_evidence:
            raise InvalidInput(
                _("“%(reason)s” needs evidence: attach the document or photo.")
                % {"reason": reason.label}, field="evidence")
        return None
    try:
        return check(IncomingFile(evidence.name, evidence.data), evidence.content_type)
    except AttachmentRejected as exc:
        raise InvalidInput(str(exc), field="evidence") from exc


def _check_may_pause(case: Case, actor: User) -> None:
    if not perms.can_pause(case, actor):
        raise ActionForbidden(_("Only the case's owner or handler, or a supervisor, may pause "
                                "or resume it."))
    if case.stage not in PAUSABLE_STAGES:
        raise ActionNotAllowed(_("Case %(ref)s is resolved or closed: only a case being "
                                 "handled can be paused.") % {"ref": case.reference})


def case_pause(
    *, actor: User, case_id: int, reason: str, note: str, evidence: Evidence | None = None,
) -> CasePause:
    """Pause the case's clocks named by ``reason`` (a PauseReason code).

    Preconditions: the actor is the case's owner or handler or a supervisor; the case is open
    and not paused; the reason is active; a note is given; evidence is attached when the
    reason requires it (type and size checked as at intake); the reason's maximum total on
    this case is not used up. Otherwise raises (InvalidInput, ActionNotAllowed,
    ActionForbidden) and changes nothing.
    Side effects: the named running clocks are frozen (``CaseDeadline.paused_at``) and the
    case's nearest due time and state recomputed without them; the evidence is stored as a
    case attachment (its file removed again if the transaction rolls back); the timeline
    records the pause; the customer is sent a notice with the reason, in their language,
    after commit."""
    chosen = _clean_reason(reason)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Say what the case is waiting for."), field="note")
    if len(note) > MAX_FREE_TEXT:
        raise InvalidInput(_("The note is too long (at most %(n)d characters).")
                           % {"n": MAX_FREE_TEXT}, field="note")
    checked = _clean_evidence(chosen, evidence)
    stored: list[CaseAttachment] = []
    try:
        with transaction.atomic():
            return _pause(actor, case_id, chosen, note, checked, stored)
    except BaseException:
        discard(stored)
        raise


def _pause(actor: User, case_id: int, chosen: PauseReason, note: str,
           checked: CheckedFile | None, stored: list[CaseAttachment]) -> CasePause:
    case = lock_case(case_id)
    _check_may_pause(case, actor)
    if case.paused_since is not None:
        raise ActionNotAllowed(_("Case %(ref)s is already paused; resume it first.")
                               % {"ref": case.reference})
    now = timezone.now()
    left = chosen.max_total - used_for_reason(case, chosen)
    if left <= timedelta(0):
        raise ActionNotAllowed(
            _("Case %(ref)s has used the %(days)d days allowed for “%(reason)s”.")
            % {"ref": case.reference, "days": chosen.max_days, "reason": chosen.label})
    if checked is not None:
        stored.extend(store(case, [checked]))
    pause = CasePause.objects.create(
        case=case, reason=chosen, note=note, evidence=stored[0] if stored else None,
        clocks=list(chosen.clocks), started_at=now, started_by=actor, resume_by=now + left,
    )
    pause_clocks.freeze(case, chosen.clocks, now)
    case.paused_since = now
    clocks.refresh_case_sla(case, now)
    save_case(case)
    log_change(case, field=TIMELINE_FIELD, name="pause", source="", target=chosen.code,
               actor=actor, note=f"{chosen.name} / {chosen.name_en}: {note}")
    _queue_notice(case, pause)
    return pause


def _queue_notice(case: Case, pause: CasePause) -> None:
    language = case.customer.language or settings.LANGUAGE_CODE
    reason = pause.reason.name_en if language.startswith("en") else pause.reason.name
    local = timezone.localtime(pause.resume_by)
    notice_queue(case=case, kind=NoticeKind.PAUSE, key=f"pause{pause.pk}",
                 context={"reason": reason, "resume_by": f"{local:%Y-%m-%d}"})


@transaction.atomic
def case_resume(
    *, actor: User | None, case_id: int, how: str = PauseEnd.HANDLER,
) -> CasePause:
    """End the case's open pause. ``how``: ``handler`` (a person: the owner, handler or a
    supervisor), ``customer`` (the customer answered) or ``maximum`` (the reason's maximum was
    reached); the last two are the system's (``actor`` None).

    Raises ActionNotAllowed when the case is not paused, ActionForbidden for an actor who may
    not; nothing changes then. Side effects: every frozen clock's risk and due times move by
    the paused time in that clock's basis, the case's due-time facts, nearest due time and
    state are refreshed, the paused total grows, and the timeline records the resume."""
    if how not in PauseEnd.values:
        raise InvalidInput(_("Unknown way of ending a pause."), field="how")
    case = lock_case(case_id)
    if how == PauseEnd.HANDLER:
        if actor is None:
            raise ActionForbidden(_("Only staff may resume a paused case."))
        if not perms.can_pause(case, actor):
            raise ActionForbidden(_("Only the case's owner or handler, or a supervisor, may "
                                    "pause or resume it."))
    pause = open_pause(case)
    if pause is None:
        raise ActionNotAllowed(_("Case %(ref)s is not paused.") % {"ref": case.reference})
    end_pause(case, pause, actor=actor, how=how, at=timezone.now())
    return pause


def end_pause(case: Case, pause: CasePause, *, actor: User | None, how: str,
              at: datetime) -> None:
    """Resume ``case`` (locked by the caller) from ``pause`` at ``at`` and save it."""
    pause.ended_at, pause.ended_by, pause.ended_how = at, actor, how
    pause.save(update_fields=["ended_at", "ended_by", "ended_how"])
    pause_clocks.thaw(case, at)
    case.paused_since = None
    case.paused_total += at - pause.started_at
    clocks.refresh_case_sla(case, at)
    save_case(case)
    reason = pause.reason
    log_change(case, field=TIMELINE_FIELD, name="resume", source="", target="", actor=actor,
               note=f"{reason.name} / {reason.name_en}: {PauseEnd(how).label}")


def resume_on_customer_message(case: Case) -> bool:
    """A message from the customer ends a pause whose reason waits on them (``case`` is
    locked by the caller). Returns whether it did."""
    if case.paused_since is None:
        return False
    pause = open_pause(case)
    if pause is None or not pause.reason.resumes_on_customer_reply:
        return False
    end_pause(case, pause, actor=None, how=PauseEnd.CUSTOMER, at=timezone.now())
    return True


def end_with_case(case: Case) -> None:
    """A paused case (locked by the caller) that was just resolved or closed is paused no
    longer: its pause ends now (``case_done``)."""
    if case.paused_since is None or case.stage in PAUSABLE_STAGES:
        return
    pause = open_pause(case)
    if pause is not None:
        end_pause(case, pause, actor=None, how=PauseEnd.CASE_DONE, at=timezone.now())


def pause_maximum_sweep(*, now: datetime | None = None, batch: int = 500) -> int:
    """Resume the cases whose pause reached its reason's maximum. Reads the open pauses due
    through ``pause_open_resume_idx`` (what is due, not every pause); each case in its own
    short transaction, skipped if someone resumed it meanwhile. Returns how many resumed."""
    now = now or timezone.now()
    due = list(CasePause.objects.filter(ended_at__isnull=True, resume_by__lte=now)
               .order_by("resume_by").values_list("case_id", flat=True)[:batch])
    done = 0
    for case_id in due:
        with transaction.atomic():
            case = lock_case(case_id)
            pause = open_pause(case)
            if pause is None or pause.resume_by > now:
                continue
            end_pause(case, pause, actor=None, how=PauseEnd.MAXIMUM, at=pause.resume_by)
            done += 1
    if done:
        logger.info("pause maximum sweep: %d resumed", done)
    return done


__all__ = ["Evidence", "PauseEnd", "case_pause", "case_resume", "end_pause", "end_with_case",
           "open_pause", "pause_maximum_sweep", "resume_on_customer_message", "used_for_reason"]
