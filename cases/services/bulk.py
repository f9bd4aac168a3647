"""One action on many cases: each case goes through the same domain action as the single
step (its permission, state-machine and input checks) in its own transaction; the outcome
lists what was done and what was refused, with the reason, per case."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from cases.choices import Tier
from cases.models import Case, Department, User
from cases.services import lifecycle, merging
from cases.services.errors import DomainError, InvalidInput

# Per case: run the action and return what was done, in words.
Step = Callable[[Case], str]
# The columns each step reads off a listed case (besides what the services lock and read).
BULK_COLUMNS = ("pk", "reference", "tier", "stage", "urgency", "scope", "difficulty",
                "owner", "handler", "department")


@dataclass
class BulkOutcome:
    """What a bulk action did: (case, what was done), (case, why it was refused), and how
    many of the cases asked for were not found (deleted, or not visible to the actor)."""

    done: list[tuple[Case, str]] = field(default_factory=list)
    refused: list[tuple[Case, str]] = field(default_factory=list)
    missing: int = 0


def bulk_run(cases: Iterable[Case], step: Step, *, asked: int | None = None) -> BulkOutcome:
    """Run ``step`` on each case; a DomainError refuses that case alone. ``asked``: how many
    cases were asked for (those not found are counted as missing)."""
    outcome = BulkOutcome()
    listed = list(cases)
    for case in listed:
        try:
            outcome.done.append((case, step(case)))
        except DomainError as exc:
            outcome.refused.append((case, exc.message))
    if asked is not None:
        outcome.missing = max(asked - len(listed), 0)
    return outcome


def _tier(value: int | None) -> int:
    if value not in (Tier.URGENT, Tier.IMPORTANT, Tier.ROUTINE):
        raise InvalidInput(_("Choose tier 1, 2 or 3."), field="tier")
    return int(value)


def step_for(action: str, *, actor: User, agent: User | None = None, tier: int | None = None,
             department: Department | None = None, reason: str = "",
             primary: Case | None = None,
             ) -> Step:
    """The single-case step of a bulk ``action`` (the desk list's and a group's)."""
    if action == "triage":
        chosen = _tier(tier)

        def triage(case: Case) -> str:
            lifecycle.case_triage(actor=actor, case_id=case.pk, urgency=case.urgency,
                                  scope=case.scope, difficulty=case.difficulty, tier=chosen)
            return _("triaged as tier %(tier)s") % {"tier": chosen}
        return triage
    if action in ("assign", "assign_me"):
        handler = actor if action == "assign_me" else agent
        if handler is None:
            raise InvalidInput(_("Choose the agent."), field="agent")

        def assign(case: Case) -> str:
            lifecycle.case_assign(
                actor=actor, case_id=case.pk, handler=handler, department=department,
                task_force=[handler, actor] if case.tier == Tier.URGENT else None)
            return _("assigned to %(agent)s") % {"agent": handler}
        return assign
    if action == "transfer":
        if agent is None:
            raise InvalidInput(_("Choose the agent."), field="agent")

        def transfer(case: Case) -> str:
            lifecycle.case_transfer_ownership(actor=actor, case_id=case.pk, new_owner=agent,
                                              reason=reason)
            return _("ownership transferred to %(agent)s") % {"agent": agent}
        return transfer
    if action in ("link", "duplicate"):
        if primary is None:
            raise InvalidInput(_("Give the reference of the case to link to or merge into."),
                               field="primary")
        if action == "link":
            def link(case: Case) -> str:
                merging.case_link(actor=actor, case_id=case.pk, other_id=primary.pk)
                return _("linked to %(ref)s") % {"ref": primary.reference}
            return link

        def merge(case: Case) -> str:
            merging.case_merge(actor=actor, duplicate_id=case.pk, primary_id=primary.pk)
            return _("merged into %(ref)s") % {"ref": primary.reference}
        return merge
    if action == "note":
        def note(case: Case) -> str:
            lifecycle.case_add_note(actor=actor, case_id=case.pk, body=reason)
            return _("note added")
        return note
    raise InvalidInput(_("Unknown bulk action."), field="action")
