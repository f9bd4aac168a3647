"""Links between related cases, and merging a duplicate into a primary case (undoable).

A merge moves the duplicate's notes (customer messages included) and attachments to the
primary's timeline, marked as moved from the duplicate; closes the duplicate as a duplicate
(stage invalid, so it counts in no KPI) with its clocks stopped; and tells the customer once,
by one notice from the primary. Its collaboration requests and compensations stay with it as
its record: a merge is refused while one is open (a department is still working on it, or a
supervisor has not decided), since moving live work would change another case's stage.
Cases of different customers are never merged (each customer tracks their own case with their
own code): link them, or put them in one group complaint.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import CompensationStatus, Stage
from cases.models import (
    Case,
    CaseAttachment,
    CaseDeadline,
    CaseLink,
    CaseMerge,
    CaseNote,
    CaseRegime,
    CollaborationRequest,
    Compensation,
    LinkKind,
    User,
)
from cases.models.collaboration import OPEN_REQUEST_STATUSES
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.audit import AuditAction, audit_record
from cases.services.errors import ActionForbidden, ActionNotAllowed, DomainError, InvalidInput
from cases.services.notices import notice_queue
from cases.services.transitions import lock_case, log_change, run_case_transition, save_case

UNDO_WINDOW = timedelta(days=7)
_NOT_MERGEABLE = (Stage.CLOSED, Stage.INVALID, Stage.REVIEW)
# The timeline's machine name of link and merge entries (not a state machine).
LINK_FIELD = "link"


def lock_pair(first_id: int, second_id: int) -> tuple[Case, Case]:
    """Lock two cases in id order (two actions on the same pair never wait in a circle)."""
    locked = {pk: lock_case(pk) for pk in sorted((first_id, second_id))}
    return locked[first_id], locked[second_id]


def _log_both(case: Case, other: Case, *, name: str, actor: User | None, note: str = "",
              other_name: str | None = None) -> None:
    log_change(case, field=LINK_FIELD, name=name, source="", target=other.reference,
               actor=actor, note=note)
    log_change(other, field=LINK_FIELD, name=other_name or name, source="",
               target=case.reference, actor=actor, note=note)


# --- links --------------------------------------------------------------------------------
def link_between(first_id: int, second_id: int) -> CaseLink | None:
    return CaseLink.objects.filter(
        Q(from_case_id=first_id, to_case_id=second_id)
        | Q(from_case_id=second_id, to_case_id=first_id)).first()


def link_create(case: Case, other: Case, *, actor: User | None, kind: str) -> CaseLink:
    """Link two locked cases and record it on both timelines and in the audit trail."""
    link = CaseLink.objects.create(from_case=case, to_case=other, kind=kind, created_by=actor,
                                   created_at=timezone.now())
    _log_both(case, other, name="link" if kind == LinkKind.RELATED else "split_to",
              other_name=None if kind == LinkKind.RELATED else "split_from", actor=actor)
    audit_record(actor=actor, action=AuditAction.CREATE, target=link, case_id=case.pk,
                 detail={"cases": [case.reference, other.reference], "kind": kind})
    return link


@transaction.atomic
def case_link(*, actor: User, case_id: int, other_id: int) -> CaseLink:
    """Link two related cases (both show the link). Refused for a case and itself and for
    a pair already linked."""
    if case_id == other_id:
        raise InvalidInput(_("A case cannot be linked to itself."), field="other")
    case, other = lock_pair(case_id, other_id)
    if not (perms.can_work(case, actor) and perms.can_work(other, actor)):
        raise ActionForbidden(_("You may not link these cases."))
    if link_between(case.pk, other.pk) is not None:
        raise InvalidInput(_("%(a)s and %(b)s are linked already.")
                           % {"a": case.reference, "b": other.reference}, field="other")
    return link_create(case, other, actor=actor, kind=LinkKind.RELATED)


@transaction.atomic
def case_unlink(*, actor: User, case_id: int, link_id: int) -> None:
    """Remove a link of ``case_id`` (recorded on both timelines and in the audit trail)."""
    link = CaseLink.objects.select_for_update().filter(
        Q(from_case_id=case_id) | Q(to_case_id=case_id), pk=link_id).first()
    if link is None:
        raise ActionNotAllowed(_("This link does not exist any more."))
    case, other = lock_pair(link.from_case_id, link.to_case_id)
    if not (perms.can_work(case, actor) and perms.can_work(other, actor)):
        raise ActionForbidden(_("You may not change the links of these cases."))
    audit_record(actor=actor, action=AuditAction.DELETE, target=link, case_id=case_id,
                 detail={"cases": [case.reference, other.reference], "kind": link.kind})
    link.delete()
    _log_both(case, other, name="unlink", actor=actor)


# --- merge ---------------------------------------------------------------------------------
def _refuse_merge(duplicate: Case, primary: Case) -> None:
    """Raise the reason a merge of ``duplicate`` into ``primary`` is refused (both locked)."""
    refs = {"dup": duplicate.reference, "primary": primary.reference}
    if duplicate.pk == primary.pk:
        raise InvalidInput(_("A case cannot be merged into itself."), field="primary")
    if duplicate.stage in _NOT_MERGEABLE:
        raise ActionNotAllowed(_("%(dup)s is %(stage)s: only an open case can be merged.")
                               % {**refs, "stage": duplicate.get_stage_display()})
    if primary.stage in _NOT_MERGEABLE:
        raise InvalidInput(
            _("%(primary)s is %(stage)s: merge into an open case (reopen it first, or choose "
              "the case it was merged into).") % {**refs, "stage": primary.get_stage_display()},
            field="primary")
    if duplicate.customer_id != primary.customer_id:
        raise InvalidInput(
            _("%(dup)s and %(primary)s belong to different customers, who each track their own "
              "case: link them, or put them in one group complaint.") % refs, field="primary")
    if CaseRegime.objects.filter(case=duplicate).exists():
        raise ActionNotAllowed(
            _("%(dup)s runs under a statutory regime, which counts it as a complaint of its "
              "own: link it to %(primary)s instead.") % refs)
    if duplicate.paused_since is not None:
        raise ActionNotAllowed(_("%(dup)s is paused: resume it first.") % refs)
    if CollaborationRequest.objects.filter(case=duplicate,
                                           status__in=OPEN_REQUEST_STATUSES).exists():
        raise ActionNotAllowed(
            _("%(dup)s has an open department request: withdraw it or let it finish first.")
            % refs)
    if Compensation.objects.filter(case=duplicate,
                                   status=CompensationStatus.PROPOSED).exists():
        raise ActionNotAllowed(
            _("A compensation on %(dup)s awaits a supervisor's decision.") % refs)
    if CaseMerge.objects.filter(primary=duplicate, undone_at__isnull=True).exists():
        raise ActionNotAllowed(
            _("Other cases were merged into %(dup)s: merge into %(dup)s instead, or undo "
              "those merges first.") % refs)


@transaction.atomic
def case_merge(*, actor: User, duplicate_id: int, primary_id: int, note: str = "") -> CaseMerge:
    """Merge case ``duplicate_id`` into ``primary_id``.

    Preconditions (else DomainError, nothing changed): two different open cases, not under
    review, of one customer; the duplicate not paused, under no statutory regime, with no
    open department request or undecided compensation; ``actor`` may close the duplicate
    (``perms.can_merge``). Side effects: the duplicate's notes and attachments move to the
    primary; the duplicate is closed as a duplicate with its clocks stopped; both timelines
    and the audit trail record it; the customer gets one notice from the primary (a merge
    retried or redone after an undo sends none)."""
    if duplicate_id == primary_id:
        raise InvalidInput(_("A case cannot be merged into itself."), field="primary")
    duplicate, primary = lock_pair(duplicate_id, primary_id)
    if not perms.can_merge(duplicate, actor):
        raise ActionForbidden(
            _("Only its owner, its handler or a supervisor may merge %(ref)s.")
            % {"ref": duplicate.reference})
    _refuse_merge(duplicate, primary)
    now = timezone.now()
    note_ids = list(CaseNote.objects.filter(case=duplicate).values_list("pk", "moved_from_id"))
    attachment_ids = list(
        CaseAttachment.objects.filter(case=duplicate).values_list("pk", "moved_from_id"))
    running = list(CaseDeadline.objects.filter(case=duplicate, stopped_at__isnull=True)
                   .values_list("pk", flat=True))
    snapshot = {
        "stage": duplicate.stage, "closed_at": duplicate.closed_at,
        "closing_reason": duplicate.closing_reason, "duplicate_of": duplicate.duplicate_of_id,
        "notes": note_ids, "attachments": attachment_ids, "clocks": running,
        "stopped_at": now,
    }
    CaseNote.objects.filter(case=duplicate).update(case=primary, moved_from=duplicate)
    CaseAttachment.objects.filter(case=duplicate).update(case=primary, moved_from=duplicate)
    text = (note or "").strip()
    reason = _("Merged into %(ref)s.") % {"ref": primary.reference}
    run_case_transition(duplicate, "close_as_duplicate", actor,
                        note=f"{reason} {text}".strip())
    old_duplicate_of = duplicate.duplicate_of_id
    duplicate.duplicate_of = primary
    duplicate.closing_reason = reason
    duplicate.closed_at = now
    CaseDeadline.objects.filter(pk__in=running).update(stopped_at=now)
    clocks.refresh_case_sla(duplicate, now)
    save_case(duplicate)
    log_change(primary, field=LINK_FIELD, name="merge_in", source="",
               target=duplicate.reference, actor=actor, note=text)
    save_case(primary)
    merge = CaseMerge.objects.create(primary=primary, duplicate=duplicate, merged_by=actor,
                                     merged_at=now, snapshot=_jsonable(snapshot))
    notice_queue(case=primary, kind=NoticeKind.MERGED, key=f"merged{duplicate.pk}",
                 context={"merged_reference": duplicate.reference})
    audit_record(actor=actor, action=AuditAction.CHANGE, target=duplicate, changes={
        "stage": (snapshot["stage"], duplicate.stage),
        "duplicate_of": (old_duplicate_of, primary.pk)},
        detail={"merged_into": primary.reference, "notes": len(note_ids),
                "attachments": len(attachment_ids)})
    return merge


def _jsonable(snapshot: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in snapshot.items()}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def undo_refusal(merge: CaseMerge, actor: User, now: datetime) -> DomainError | None:
    """Why ``actor`` may not undo ``merge`` now (None: they may), from the merge row alone
    (pure); the service checks the cases and what moved as well."""
    if merge.undone_at is not None:
        return ActionNotAllowed(_("This merge was undone already."))
    if not (perms.is_supervisor(actor) or (perms.is_agent(actor)
                                           and actor.pk == merge.merged_by_id)):
        return ActionForbidden(_("Only the agent who merged or a supervisor may undo a merge."))
    if now - merge.merged_at > UNDO_WINDOW:
        return ActionNotAllowed(_("A merge can be undone within 7 days; this one is older."))
    return None


def _moved_back(model: type, pairs: list, merge: CaseMerge) -> None:
    """Move the rows a merge moved back to the duplicate, with their earlier origin."""
    ids = [pk for pk, _origin in pairs]
    if model.objects.filter(pk__in=ids, case_id=merge.primary_id,
                            moved_from_id=merge.duplicate_id).count() != len(ids):
        raise ActionNotAllowed(
            _("Part of what the merge moved has moved on since (split off or merged "
              "elsewhere): undoing it is no longer safe."))
    for origin in {o for _pk, o in pairs}:
        model.objects.filter(pk__in=[pk for pk, o in pairs if o == origin]).update(
            case_id=merge.duplicate_id, moved_from_id=origin)


@transaction.atomic
def case_merge_undo(*, actor: User, merge_id: int) -> Case:
    """Undo a merge within 7 days (the agent who merged, or a supervisor): what moved goes
    back, the duplicate reopens in the stage it had, with its clocks running again from
    their own times, so the KPIs are as before the merge. Refused once the primary moved on
    in a way that makes this unsafe: it was merged itself, or what moved was moved again.
    Nothing is sent to the customer."""
    merge = CaseMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise ActionNotAllowed(_("This merge does not exist."))
    now = timezone.now()
    refusal = undo_refusal(merge, actor, now)
    if refusal is not None:
        raise refusal
    duplicate, primary = lock_pair(merge.duplicate_id, merge.primary_id)
    if duplicate.stage != Stage.INVALID or duplicate.duplicate_of_id != primary.pk:
        raise ActionNotAllowed(_("%(ref)s changed since the merge: it cannot be undone.")
                               % {"ref": duplicate.reference})
    if primary.stage == Stage.INVALID or primary.anonymised_at is not None:
        raise ActionNotAllowed(
            _("%(ref)s was closed as invalid or merged since: undoing is no longer safe.")
            % {"ref": primary.reference})
    snap = merge.snapshot
    _moved_back(CaseNote, snap["notes"], merge)
    _moved_back(CaseAttachment, snap["attachments"], merge)
    run_case_transition(duplicate, "restore_merged", actor, snap["stage"],
                        note=_("Merge into %(ref)s undone.") % {"ref": primary.reference})
    duplicate.closed_at = _when(snap["closed_at"])
    duplicate.closing_reason = snap["closing_reason"]
    duplicate.duplicate_of_id = snap["duplicate_of"]
    CaseDeadline.objects.filter(pk__in=snap["clocks"],
                                stopped_at=_when(snap["stopped_at"])).update(stopped_at=None)
    clocks.refresh_case_sla(duplicate, now)
    save_case(duplicate)
    log_change(primary, field=LINK_FIELD, name="merge_undone", source="",
               target=duplicate.reference, actor=actor)
    save_case(primary)
    merge.undone_at, merge.undone_by = now, actor
    merge.save(update_fields=["undone_at", "undone_by"])
    audit_record(actor=actor, action=AuditAction.CHANGE, target=duplicate, changes={
        "stage": (Stage.INVALID, duplicate.stage), "duplicate_of": (primary.pk,
                                                                     snap["duplicate_of"])},
        detail={"merge_undone": primary.reference})
    return duplicate
