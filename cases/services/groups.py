"""Managing a group complaint 群体性投诉 as a group: its membership, and one action on all of
its open cases (each through the single-case action, see ``cases.services.bulk``)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import Stage
from cases.models import Case, CaseTransition, ComplaintGroup, User
from cases.services.audit import AuditAction, audit_record
from cases.services.bulk import BULK_COLUMNS, BulkOutcome, Step, bulk_run, step_for
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.lifecycle import case_triage, suggest_tier
from cases.services.transitions import lock_case, log_change, save_case

GROUP_FIELD = "group"
HANDLER_NAME = ("handler__username", "handler__display_name", "handler__first_name",
                "handler__last_name")
_STATE_LENGTH = CaseTransition._meta.get_field("target").max_length


def _group(group_id: int) -> ComplaintGroup:
    group = ComplaintGroup.objects.select_for_update().filter(pk=group_id).first()
    if group is None:
        raise ActionNotAllowed(_("This group complaint does not exist."))
    return group


def _label(group: ComplaintGroup | None) -> str:
    """The group as its timeline entry names it (the log's state columns hold 20 characters)."""
    if group is None:
        return ""
    return (group.matter or f"#{group.pk}")[:_STATE_LENGTH]


def _move(case: Case, group: ComplaintGroup | None, actor: User, name: str) -> None:
    old = case.group
    log_change(case, field=GROUP_FIELD, name=name, source=_label(old), target=_label(group),
               actor=actor)
    if old is not None:
        ComplaintGroup.objects.filter(pk=old.pk).update(case_count=F("case_count") - 1)
    if group is not None:
        ComplaintGroup.objects.filter(pk=group.pk).update(case_count=F("case_count") + 1)
    audit_record(actor=actor, action=AuditAction.CHANGE, target=case,
                 changes={"group": (old.pk if old else None, group.pk if group else None)})
    case.group = group
    save_case(case)


@transaction.atomic
def group_add_case(*, actor: User, group_id: int, case_id: int) -> Case:
    """Put a case into the group (out of the group it was in, if any); recorded on its
    timeline and in the audit trail."""
    if not perms.is_agent(actor):
        raise ActionForbidden(_("Only agents manage group complaints."))
    group = _group(group_id)
    case = lock_case(case_id)
    if case.group_id == group.pk:
        raise InvalidInput(_("%(ref)s is in this group already.") % {"ref": case.reference},
                           field="reference")
    _move(case, group, actor, "group_add")
    return case


@transaction.atomic
def group_remove_case(*, actor: User, group_id: int, case_id: int) -> Case:
    """Take a case out of the group; recorded on its timeline and in the audit trail."""
    if not perms.is_agent(actor):
        raise ActionForbidden(_("Only agents manage group complaints."))
    _group(group_id)
    case = lock_case(case_id)
    if case.group_id != group_id:
        raise ActionNotAllowed(_("%(ref)s is not in this group.") % {"ref": case.reference})
    _move(case, None, actor, "group_remove")
    return case


def _assign_any_stage(actor: User, agent: User | None) -> Step:
    """The group's assign step: a triaged case is assigned; a case not yet triaged is first
    triaged at the tier its grading suggests, then assigned, both or neither (its own
    transaction); a case already in hand is left as it is, listed as refused unless it is
    the agent's already. Permission and recusal checks are the single actions'."""
    assign = step_for("assign", actor=actor, agent=agent)

    def step(case: Case) -> str:
        if case.stage == Stage.TRIAGED:
            return assign(case)
        if case.stage != Stage.RECEIVED:
            if case.handler_id == agent.pk:
                return _("already assigned to %(agent)s") % {"agent": agent}
            raise ActionNotAllowed(_("already in hand (%(stage)s, %(handler)s): a handler "
                                     "is changed on the case itself") % {
                "stage": case.get_stage_display(), "handler": case.handler or "—"})
        tier = suggest_tier(urgency=case.urgency, scope=case.scope, difficulty=case.difficulty)
        with transaction.atomic():
            case_triage(actor=actor, case_id=case.pk, urgency=case.urgency, scope=case.scope,
                        difficulty=case.difficulty, tier=tier, route=False)
            done = assign(Case.objects.only(*BULK_COLUMNS).get(pk=case.pk))  # its new tier
        return _("triaged as tier %(tier)s, %(done)s") % {"tier": tier, "done": done}
    return step


def group_act_on_all(*, actor: User, group_id: int, action: str, agent: User | None = None,
                     body: str = "") -> BulkOutcome:
    """``assign`` every open case of the group to ``agent`` (``_assign_any_stage``), or add
    the ``note`` ``body`` to each; every case through its single actions (who may, which
    stage, recusal), refused ones listed with the reason."""
    if action not in ("assign", "note"):
        raise InvalidInput(_("Unknown group action."), field="action")
    if action == "note" and not (body or "").strip():
        raise InvalidInput(_("Write the note."), field="body")
    step = (_assign_any_stage(actor, agent) if action == "assign"
            else step_for(action, actor=actor, reason=body))
    cases = (Case.objects.open().filter(group_id=group_id).order_by("pk")
             .select_related("handler").only(*BULK_COLUMNS, *HANDLER_NAME))
    return bulk_run(cases, step)
