"""Who may do what. Each ``can_*`` is a pure predicate ``(obj, user) -> bool`` used as the
django-fsm ``permission=`` of a transition, by services (which enforce it) and by views (which
show only what is allowed). Scoping of what a user may *see* lives in ``visible_cases``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cases.choices import Role, Stage, Tier

if TYPE_CHECKING:
    from cases.models import Case, CollaborationRequest, User


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_active", False))


def is_agent(user: User | None) -> bool:
    return _active(user) and user.has_role(Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR)


def is_supervisor(user: User | None) -> bool:
    return _active(user) and user.has_role(Role.SUPERVISOR)


def is_liaison(user: User | None) -> bool:
    return _active(user) and Role.LIAISON in user.role_names


def may_handle_tier(user: User, tier: int) -> bool:
    """Frontline agents handle tier 3, senior agents tier 2; tier 1 is a supervisor-led
    task force (its members are named on the case)."""
    if user.has_role(Role.SUPERVISOR):
        return True
    if tier == Tier.IMPORTANT:
        return user.has_role(Role.SENIOR)
    if tier == Tier.URGENT:
        return user.has_role(Role.SENIOR, Role.FRONTLINE)  # as a named task-force member
    return user.has_role(Role.FRONTLINE, Role.SENIOR)


def _task_force_ids(case: Case) -> set[int]:
    # Uses the prefetch cache when the caller prefetched ``task_force``.
    return {member.pk for member in case.task_force.all()} if case.pk else set()


def is_case_team(case: Case, user: User) -> bool:
    """Owner, handler or task-force member."""
    return user.pk in (case.owner_id, case.handler_id) or (
        case.tier == Tier.URGENT and user.pk in _task_force_ids(case)
    )


def can_work(case: Case, user: User | None) -> bool:
    """Any agent may look at a case and record contacts, notes and revisit answers."""
    return is_agent(user)


def can_triage(case: Case, user: User | None) -> bool:
    return is_agent(user)


def can_retier(case: Case, user: User | None) -> bool:
    return is_supervisor(user)


def can_assign(case: Case, user: User | None) -> bool:
    """Supervisors assign anything; the first-contact owner assigns tier 2 and 3 cases (to a
    handler of the right rank, checked by the service)."""
    if is_supervisor(user):
        return True
    return is_agent(user) and case.owner_id == user.pk and case.tier in (
        Tier.IMPORTANT, Tier.ROUTINE,
    )


def can_handle(case: Case, user: User | None) -> bool:
    """Handling steps (start, resolve, feedback, follow-up): the case team, at the right rank."""
    if is_supervisor(user):
        return True
    if not is_agent(user):
        return False
    return is_case_team(case, user) and may_handle_tier(user, case.tier)


def can_reopen(case: Case, user: User | None) -> bool:
    return is_supervisor(user) or (is_agent(user) and case.owner_id == user.pk)


def can_invalidate(case: Case, user: User | None) -> bool:
    return is_supervisor(user) or (is_agent(user) and case.owner_id == user.pk)


def can_merge(case: Case, user: User | None) -> bool:
    """Close a case as a duplicate of another (merge) or split it: a supervisor, its owner or
    handler, or any agent while nobody owns it yet (a new case in the inbox)."""
    if is_supervisor(user):
        return True
    return is_agent(user) and (case.owner_id is None or user.pk in (case.owner_id,
                                                                     case.handler_id))


def can_request_review(case: Case, user: User | None) -> bool:
    """Only the complainant asks for a review (the system runs it for them, ``actor=None``)."""
    return False


def can_review(case: Case, user: User | None) -> bool:
    """Who may review a case 申请核查: someone above the original handler and never the
    handler, owner or a task-force member. The hierarchy (cases.choices.Role): a supervisor
    reviews any case; a senior agent reviews a case whose handler was a frontline agent only
    (not a senior or supervisor). Frontline agents, liaisons and admins (without the
    supervisor role) never review; superuser status alone does not count."""
    if not is_agent(user) or is_case_team(case, user):
        return False
    if is_supervisor(user):
        return True
    handler = case.handler
    return bool(user.has_role(Role.SENIOR) and handler is not None
                and not handler.has_role(Role.SENIOR, Role.SUPERVISOR))


def can_assign_review(case: Case, user: User | None) -> bool:
    """Supervisors assign (or take) reviews."""
    return is_supervisor(user)


def can_transfer_ownership(case: Case, user: User | None) -> bool:
    return is_supervisor(user)


def can_pause(case: Case, user: User | None) -> bool:
    """Pause or resume a case's clocks: its owner or handler, or a supervisor."""
    if is_supervisor(user):
        return True
    return is_agent(user) and user.pk in (case.owner_id, case.handler_id)


def can_add_note(case: Case, user: User | None) -> bool:
    return is_agent(user)


def can_reply(case: Case, user: User | None) -> bool:
    """Write to the customer from the case: any agent who may see it, as for contacts."""
    return can_work(case, user)


def can_resend_reply(case: Case, author_id: int | None, user: User | None) -> bool:
    """Send a failed or uncertain reply again: its author, the case's owner or handler, a
    supervisor, or whoever holds the outbox's ``cases.decide_notice`` permission (Django
    caches a user's permissions after the first check)."""
    if is_supervisor(user) or (
        is_agent(user) and user.pk in (author_id, case.owner_id, case.handler_id)
    ):
        return True
    return _active(user) and user.has_perm("cases.decide_notice")


def can_propose_compensation(case: Case, user: User | None) -> bool:
    """The handling team; while a case is under review, its reviewers (a changed decision)."""
    if case.stage == Stage.REVIEW:
        return can_review(case, user)
    return can_handle(case, user)


def can_approve_compensation(case: Case, user: User | None) -> bool:
    return is_supervisor(user)


def can_see_contact_data(user: User | None) -> bool:
    """Liaisons see customer phone and email masked."""
    return is_agent(user)


# --- collaboration requests -------------------------------------------------------------------
def can_request_help(case: Case, user: User | None) -> bool:
    """The case team (owner, handler, task force) or a supervisor asks departments for help."""
    if is_supervisor(user):
        return True
    return is_agent(user) and is_case_team(case, user)


def is_department_liaison(request: CollaborationRequest, user: User | None) -> bool:
    return _active(user) and request.department.liaison_id == user.pk


def can_answer_request(request: CollaborationRequest, user: User | None) -> bool:
    return is_department_liaison(request, user) or is_supervisor(user)


def can_review_request(request: CollaborationRequest, user: User | None) -> bool:
    """The requesting agent, the case team, or a supervisor accepts, disputes or withdraws."""
    if is_supervisor(user):
        return True
    return is_agent(user) and (
        request.requested_by_id == user.pk or is_case_team(request.case, user)
    )


def can_decide_request(request: CollaborationRequest, user: User | None) -> bool:
    """Only the manager of the department the dispute escalated to (the lowest common
    parent) decides; a superuser who also holds the supervisor role may stand in (superuser
    status alone does not: separation of duties)."""
    if not _active(user):
        return False
    target = request.escalated_to
    return bool((user.is_superuser and user.has_role(Role.SUPERVISOR))
                or (target is not None and target.manager_id == user.pk))


def can_complete_request(request: CollaborationRequest, user: User | None) -> bool:
    return can_review_request(request, user) or is_department_liaison(request, user)


def can_manage_legal_holds(user: User | None) -> bool:
    return _active(user) and user.has_role(Role.SUPERVISOR, Role.ADMIN)


def can_handle_erasure(user: User | None) -> bool:
    """PIPL erasure requests are decided by a supervisor (not an admin: separation of duties)."""
    return is_supervisor(user)


def can_see_audit_history(user: User | None) -> bool:
    """Supervisors and admins read a case's audit history (agents and liaisons do not)."""
    return _active(user) and (user.has_role(Role.SUPERVISOR, Role.ADMIN)
                              or bool(getattr(user, "is_superuser", False)))
