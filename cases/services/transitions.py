"""The mechanics every domain action shares: lock the case, check the actor, run a django-fsm
transition with understandable errors, record the transition, save."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import OperationalError
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ANY_OTHER_STATE, ANY_STATE, FSMFieldMixin, can_proceed

from cases.models import Case, CaseTransition, CollaborationRequest, User
from cases.services import live
from cases.services.errors import ActionForbidden, ActionNotAllowed, CaseBusy, ConflictError
from cases.services.live import live_changed
from channels.webhooks.services.events import (
    transition_events,
    webhook_case_changed,
    webhook_events_record,
)

if TYPE_CHECKING:
    from django_fsm import Transition

# PostgreSQL's SQLSTATE when a lock wait exceeds ``lock_timeout`` (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"

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
    the actor saw: if somebody changed the case since, refuse rather than overwrite.
    Waits at most the connection's ``lock_timeout`` (settings ``DB_LOCK_TIMEOUT_MS``) for a
    row another transaction holds, then raises CaseBusy; the caller's transaction must roll
    back (letting the exception leave ``transaction.atomic`` does that)."""
    try:
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "owner", "handler")
            .get(pk=case_id)
        )
    except Case.DoesNotExist as exc:
        raise ActionNotAllowed(_("This case does not exist.")) from exc
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise CaseBusy(
            _("Someone else is saving this case right now; try again in a moment.")
        ) from exc
    if expected_version is not None and case.version != expected_version:
        raise ConflictError(
            _("Someone else changed case %(ref)s a moment ago. Reload it and try again.")
            % {"ref": case.reference}
        )
    return case


def transitions_named(obj: Model, name: str) -> tuple[str, list[Transition]]:
    """The state field that the transition method ``name`` of ``obj`` moves, and django-fsm's
    Transition objects of that method (one per source state: permission, conditions, custom),
    read through the model's public ``get_all_<field>_transitions()``. Pure; no queries."""
    for field in obj._meta.get_fields():
        if isinstance(field, FSMFieldMixin):
            found = [t for t in getattr(obj, f"get_all_{field.name}_transitions")()
                     if t.name == name]
            if found:
                return field.name, found
    raise AttributeError(f"{type(obj).__name__}.{name} is not a django-fsm transition")


def current_transition(obj: Model, name: str) -> tuple[str, Transition | None]:
    """The state field of transition method ``name`` and the Transition it would take from
    ``obj``'s current state (its conditions not checked), or None when there is none."""
    field, transitions = transitions_named(obj, name)
    if not can_proceed(getattr(obj, name), check_conditions=False):
        return field, None
    by_source = {t.source: t for t in transitions}
    # django-fsm's order: the current state itself, then "any state", then "any other state"
    for source in (getattr(obj, field), ANY_STATE, ANY_OTHER_STATE):
        if source in by_source:
            return field, by_source[source]
    return field, None


def check_transition(obj: Case | CollaborationRequest, name: str, actor: User | None) -> Any:
    """Return the bound transition method if ``actor`` may run it now, else raise.

    ``actor=None`` is the system (a worker, or the customer through a signed link); it may run
    only transitions marked ``custom={"system": True}``. django-fsm's permission is advisory,
    so it is enforced here.
    """
    method = getattr(obj, name)
    state_field, transition = current_transition(obj, name)
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
    field = transitions_named(case, name)[0]
    source = getattr(case, field)
    method(*args, **kwargs)
    row = CaseTransition.objects.create(
        case=case, field=field, name=name, source=str(source), target=str(getattr(case, field)),
        actor=actor, note=note, at=timezone.now(),
    )
    webhook_case_changed(case, row)  # outbox rows in this transaction; sent after commit
    return row


def log_change(
    case: Case, *, field: str, name: str, source: Any, target: Any, actor: User | None,
    note: str = "",
) -> CaseTransition:
    """Record a change that is not an FSM transition (ownership transfer, handler change)."""
    row = change_row(case, field=field, name=name, source=source, target=target, actor=actor,
                     note=note)
    row.save(force_insert=True)
    webhook_case_changed(case, row)
    return row


def log_new_rows(rows: list[CaseTransition], *, events: bool = True) -> None:
    """Insert unsaved transition rows (of one case or many) in one statement; ``events``:
    raise their webhook events too, in one write."""
    CaseTransition.objects.bulk_create(rows)
    live_changed(live.CASES)  # bulk_create sends no post_save
    if events:
        webhook_events_record(event for row in rows for event in transition_events(row.case, row))


def change_row(
    case: Case, *, field: str, name: str, source: Any, target: Any, actor: User | None,
    note: str = "",
) -> CaseTransition:
    """The unsaved transition row ``log_change`` writes (bulk callers insert many at once)."""
    return CaseTransition(
        case=case, field=field, name=name, source=str(source or ""), target=str(target or ""),
        actor=actor, note=note, at=timezone.now(),
    )


def save_case(case: Case) -> None:
    case.version += 1
    case.save()
