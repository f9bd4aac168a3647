"""The mechanics every domain action shares: lock the case, check the actor, run a django-fsm
transition with understandable errors, record the transition, save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from cases.models import Case, CaseTransition, CollaborationRequest, User
from cases.services.errors import ActionForbidden, ActionNotAllowed, ConflictError

# Messages for unmet transition conditions, keyed by the condition's name.
_CONDITION_MESSAGES: dict[str, Callable[[], str]] = {
    "is_graded": lambda: _("Record urgency, impact scope and difficulty first."),
    "is_tiered": lambda: _("Confirm the tier first."),
    "has_handler": lambda: _("Choose who handles the case."),
    "has_first_response": lambda: _(
        "Record the first response to the customer before resolving."
    ),
    "has_solution": lambda: _("Describe the solution."),
    "has_feedback": lambda: _("Write the message to the customer."),
    "has_plan": lambda: _("Describe the proposed plan."),
    "has_decision": lambda: _("Write the decision."),
}


def lock_case(case_id: int, expected_version: int | None = None) -> Case:
    """Lock the case row for the rest of the transaction. ``expected_version`` is the version
    the actor saw: if somebody changed the case since, refuse rather than overwrite."""
    try:
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "owner", "handler")
            .get(pk=case_id)
        )
    except Case.DoesNotExist as exc:
        raise ActionNotAllowed(_("This case does not exist.")) from exc
    if expected_version is not None and case.version != expected_version:
        raise ConflictError(
            _("Someone else changed case %(ref)s a moment ago. Reload it and try again.")
            % {"ref": case.reference}
        )
    return case


def _transition_meta(method: Any) -> Any:
    return method._django_fsm  # noqa: SLF001 (django-fsm's own metadata object)


def check_transition(obj: Case | CollaborationRequest, name: str, actor: User | None) -> Any:
    """Return the bound transition method if ``actor`` may run it now, else raise.

    ``actor=None`` is the system (a worker, or the customer through a signed link); it may run
    only transitions marked ``custom={"system": True}``. django-fsm's permission is advisory,
    so it is enforced here.
    """
    method = getattr(obj, name)
    meta = _transition_meta(method)
    state_field = meta.field if isinstance(meta.field, str) else meta.field.name
    state = getattr(obj, state_field)
    transition = meta.get_transition(state)
    label = _label(name)
    if transition is None:
        raise ActionNotAllowed(
            _("“%(action)s” is not possible while the %(field)s is “%(state)s”.")
            % {"action": label, "field": _field_label(state_field), "state": _state_label(
                obj, state_field)}
        )
    if actor is None:
        if not transition.custom.get("system"):
            raise ActionForbidden(_("Only staff may do “%(action)s”.") % {"action": label})
    elif not transition.has_perm(obj, actor):
        raise ActionForbidden(_("You may not do “%(action)s” on this case.") % {"action": label})
    if not can_proceed(method):
        unmet = [c for c in transition.conditions if not c(obj)]
        messages = [
            _CONDITION_MESSAGES[c.__name__]() if c.__name__ in _CONDITION_MESSAGES else c.__name__
            for c in unmet
        ]
        raise ActionNotAllowed(" ".join(messages) or _("This step is not possible now."))
    return method


def _label(name: str) -> str:
    from cases.transition_labels import TRANSITION_LABELS

    return str(TRANSITION_LABELS.get(name, name))


def _field_label(field: str) -> str:
    return {"stage": _("stage"), "tier": _("tier"), "status": _("status")}.get(field, field)


def _state_label(obj: Any, field: str) -> str:
    return str(getattr(obj, f"get_{field}_display")())


def run_case_transition(
    case: Case, name: str, actor: User | None, *args: Any, note: str = "", **kwargs: Any
) -> CaseTransition:
    """Run one transition of ``case`` (already locked) and log it; the caller saves."""
    method = check_transition(case, name, actor)
    meta = _transition_meta(method)
    field = meta.field if isinstance(meta.field, str) else meta.field.name
    source = getattr(case, field)
    method(*args, **kwargs)
    return CaseTransition.objects.create(
        case=case, field=field, name=name, source=str(source), target=str(getattr(case, field)),
        actor=actor, note=note, at=timezone.now(),
    )


def log_change(
    case: Case, *, field: str, name: str, source: Any, target: Any, actor: User | None,
    note: str = "",
) -> CaseTransition:
    """Record a change that is not an FSM transition (ownership transfer, handler change)."""
    return CaseTransition.objects.create(
        case=case, field=field, name=name, source=str(source or ""), target=str(target or ""),
        actor=actor, note=note, at=timezone.now(),
    )


def save_case(case: Case) -> None:
    case.version += 1
    case.save()
