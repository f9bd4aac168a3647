"""Extensions of a statutory limit: the handler asks with a reason, the role the regime's next
step names approves or refuses; an approval moves the statutory due time and tells the
complainant the new date and the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT, Clock, Role, SlaState
from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseRegime,
    ExtensionRequest,
    RegimeExtensionStep,
    User,
)
from cases.models.notices import NoticeKind
from cases.models.statutory import ExtensionStatus
from cases.services import clocks
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.notices import notice_queue
from cases.services.statutory.limits import (
    Limit,
    capped,
    count_limit,
    days_label,
    due_label,
    last_day,
)
from cases.services.transitions import lock_case, log_change, save_case

ALERT_EXTENSION_REQUESTED = "extension_requested"
ALERT_EXTENSION_DECIDED = "extension_decided"


def _running_link(case: Case) -> CaseRegime:
    """The case's regime with a running statutory clock, or ActionNotAllowed."""
    link = CaseRegime.objects.select_related("regime").filter(case=case).first()
    if link is None:
        raise ActionNotAllowed(_("This case runs under no statutory regime."))
    if link.started_at is None or link.due_at is None:
        raise ActionNotAllowed(_("The statutory clock has not started yet (it starts when the "
                                 "case is accepted)."))
    if case.statutory_stopped_at is not None:
        raise ActionNotAllowed(_("The case is decided: the statutory clock has stopped."))
    return link


def _next_step(link: CaseRegime) -> RegimeExtensionStep:
    """The regime's next extension step, or ActionNotAllowed with the reason there is none."""
    regime = link.regime
    steps = list(regime.steps.order_by("position"))
    if link.steps_used >= len(steps):
        raise ActionNotAllowed(
            _("The regime %(regime)s allows no further extension (%(used)d of %(steps)d used).")
            % {"regime": regime.name, "used": link.steps_used, "steps": len(steps)})
    step = steps[link.steps_used]
    total = regime.first_limit_days + link.extended_days + step.days
    if total > regime.max_total_days:
        raise ActionNotAllowed(
            _("Extending by %(step)s would make %(total)s, past the regime's maximum of "
              "%(max)s.") % {"step": days_label(step.days, regime.basis),
                              "total": days_label(total, regime.basis),
                              "max": days_label(regime.max_total_days, regime.basis)})
    return step


def _extended_limit(link: CaseRegime, days: int) -> Limit:
    """The statutory limit once ``days`` more are granted, counted from the clock's start.
    Refused past the regulator's own deadline (only the regulator can move it), and when
    the calendar lacks a year the count needs (load it first)."""
    regime = link.regime
    limit = count_limit(regime, link.started_at,
                        regime.first_limit_days + link.extended_days + days)
    if limit.problem:
        raise ActionNotAllowed(_("The extended limit cannot be counted: %(problem)s")
                               % {"problem": limit.problem})
    if link.regulator_due_at is not None and limit.due_at > link.regulator_due_at:
        raise ActionNotAllowed(
            _("The regulator's own deadline (%(due)s) cannot be extended here: ask the "
              "regulator.") % {"due": due_label(link.regulator_due_at)})
    return capped(limit, link.started_at, link.regulator_due_at)


def _refuse_when_expired(link: CaseRegime, now: datetime) -> None:
    if now >= link.due_at:
        raise ActionNotAllowed(_("The statutory limit has already passed (%(due)s): an "
                                 "extension must be approved before it runs out.")
                               % {"due": due_label(link.due_at)})


@transaction.atomic
def extension_request(*, actor: User, case_id: int, reason: str) -> ExtensionRequest:
    """Ask for the regime's next extension of the case's statutory limit.

    Preconditions: the actor may handle the case; the statutory clock runs and has not run
    out; no request is pending; the regime has a step left within its maximum. Otherwise
    raises (ActionForbidden, ActionNotAllowed, InvalidInput) and changes nothing. Side
    effects: the request, a timeline row, and an in-app alert to each active person with the
    approving role (the requester excepted)."""
    case = lock_case(case_id)
    if not perms.can_handle(case, actor):
        raise ActionForbidden(_("Only the case's handler or a supervisor may request an "
                                "extension."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the extension."), field="reason")
    if len(reason) > MAX_FREE_TEXT:
        raise InvalidInput(_("At most %(limit)d characters.") % {"limit": MAX_FREE_TEXT},
                           field="reason")
    link = _running_link(case)
    now = timezone.now()
    _refuse_when_expired(link, now)
    if ExtensionRequest.objects.filter(case=case, status=ExtensionStatus.PENDING).exists():
        raise ActionNotAllowed(_("An extension request is already awaiting approval."))
    step = _next_step(link)
    new_due = _extended_limit(link, step.days).due_at
    extension = ExtensionRequest.objects.create(
        case=case, position=step.position, days=step.days, approver_role=step.approver_role,
        reason=reason, requested_by=actor, requested_at=now, due_before=link.due_at,
        due_after=new_due)
    case.extensions_requested += 1
    log_change(case, field="statutory", name="extension_request", source=due_label(link.due_at),
               target=due_label(new_due), actor=actor, note=reason)
    _alert_approvers(case, extension, now)
    clocks.refresh_case_sla(case)
    save_case(case)
    return extension


def may_decide(extension: ExtensionRequest, user: User) -> bool:
    """An active agent with the role the step names, other than the requester (pure)."""
    return (perms.is_agent(user) and user.has_role(extension.approver_role)
            and user.pk != extension.requested_by_id)


@transaction.atomic
def extension_decide(
    *, actor: User, extension_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Approve or refuse a pending extension request.

    Preconditions: the actor holds the role the regime's step names and is not the requester;
    the request is pending; to approve, the limit has not run out yet. Otherwise raises and
    changes nothing. Approval moves the statutory due time (the case's fact and its deadline
    row, at risk again only when due), records it on the timeline and queues a notice to the
    complainant with the new date and the reason; refusal records the decision only. The
    requester gets an in-app alert either way."""
    try:
        case_id = ExtensionRequest.objects.values_list("case_id", flat=True).get(pk=extension_id)
    except ExtensionRequest.DoesNotExist as exc:
        raise ActionNotAllowed(_("No such extension request.")) from exc
    case = lock_case(case_id)
    extension = ExtensionRequest.objects.select_for_update().get(pk=extension_id)
    if not may_decide(extension, actor):
        if actor.pk == extension.requested_by_id:
            raise ActionForbidden(_("Someone other than the requester must decide an "
                                    "extension."))
        raise ActionForbidden(_("Only a %(role)s may decide this extension.")
                              % {"role": Role(extension.approver_role).label})
    if extension.status != ExtensionStatus.PENDING:
        raise ActionNotAllowed(_("This extension request has already been decided."))
    now = timezone.now()
    extension.decided_by, extension.decided_at = actor, now
    extension.decision_note = (note or "").strip()[:300]
    if approve:
        link = _running_link(case)
        _refuse_when_expired(link, now)
        _approve(case, link, extension, actor, now)
    else:
        extension.status = ExtensionStatus.REFUSED
        log_change(case, field="statutory", name="extension_refuse", source="", target="",
                   actor=actor, note=extension.decision_note)
    extension.save()
    _alert_requester(case, extension, now)
    clocks.refresh_case_sla(case)
    save_case(case)
    return extension


def _approve(case: Case, link: CaseRegime, extension: ExtensionRequest, actor: User,
             now: datetime) -> None:
    limit = _extended_limit(link, extension.days)
    new_due, before = limit.due_at, link.due_at
    link.extended_days += extension.days
    link.steps_used += 1
    link.due_at = new_due
    link.save(update_fields=["extended_days", "steps_used", "due_at"])
    row = CaseDeadline.objects.filter(case=case, clock=Clock.STATUTORY,
                                      stopped_at__isnull=True).first()
    if row is not None:
        row.due_at, row.risk_at = limit.due_at, limit.risk_at
        row.basis, row.calendar_id = limit.basis, limit.calendar_id
        row.state = SlaState.AT_RISK if now >= row.risk_at else SlaState.ON_TIME
        row.save(update_fields=["due_at", "risk_at", "basis", "calendar", "state"])
    case.statutory_due_at = new_due
    case.extensions_approved += 1
    extension.status, extension.due_before, extension.due_after = (
        ExtensionStatus.APPROVED, before, new_due)
    log_change(case, field="statutory", name="extension_approve", source=due_label(before),
               target=due_label(new_due), actor=actor, note=extension.reason)
    language = case.customer.language or settings.LANGUAGE_CODE
    with translation.override(language):
        regime_name = link.regime.name if language.startswith("zh") else link.regime.name_en
        new_date = formats.date_format(last_day(new_due), "Y-m-d")
    notice_queue(case=case, kind=NoticeKind.EXTENSION, key=f"extension:{extension.pk}",
                 context={"regime": regime_name, "new_due": new_date,
                          "reason": extension.reason})


def _in_language(user: User, text: Callable[[], str], values: dict[str, str]) -> str:
    """``text()`` (a gettext call) in ``user``'s language, filled with ``values``."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        return (text() % values)[:300]


def _alert_approvers(case: Case, extension: ExtensionRequest, now: datetime) -> None:
    approvers = User.objects.filter(is_active=True, groups__name=extension.approver_role).exclude(
        pk=extension.requested_by_id).distinct()
    values = {"reference": case.reference or f"#{case.pk}",
              "due": due_label(extension.due_after)}
    Alert.objects.bulk_create([
        Alert(recipient=user, case=case, kind=ALERT_EXTENSION_REQUESTED, created_at=now,
              message=_in_language(user, lambda: _(
                  "%(reference)s: a statutory extension to %(due)s awaits your approval."),
                  values))
        for user in approvers])


def _alert_requester(case: Case, extension: ExtensionRequest, now: datetime) -> None:
    user = extension.requested_by
    values = {"reference": case.reference or f"#{case.pk}"}
    if extension.status == ExtensionStatus.APPROVED:
        message = _in_language(user, lambda: _(
            "%(reference)s: your statutory extension was approved."), values)
    else:
        message = _in_language(user, lambda: _(
            "%(reference)s: your statutory extension was refused."), values)
    Alert.objects.create(recipient=user, case=case, kind=ALERT_EXTENSION_DECIDED,
                         created_at=now, message=message)
