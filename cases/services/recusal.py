"""Recusal 回避: a complaint about a named employee is never given to that employee.

``ensure_not_recused`` is the one rule every path that gives a case to somebody calls:
assignment (manual and bulk), automatic routing, ownership transfer, the task force, triage
(the triager becomes the first-contact owner), review assignment and a board to-do's
assignee. Nobody may override it, supervisors included."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases.models import Case, User
from cases.services.errors import ActionForbidden, InvalidInput
from cases.services.transitions import lock_case, log_change, save_case


def is_recused(case: Case, user: User | int | None) -> bool:
    """Is ``user`` (a user or an id) the employee ``case`` is about? Pure; no query."""
    pk = user if isinstance(user, int) or user is None else user.pk
    return pk is not None and case.complained_employee_id == pk


def ensure_not_recused(case: Case, users: Iterable[User | None], *, field: str | None = None,
                       ) -> None:
    """Raise InvalidInput (a clear, translated refusal) when one of ``users`` is the employee
    ``case`` is about. No query."""
    for user in users:
        if user is not None and is_recused(case, user):
            raise InvalidInput(
                _("Recusal (回避): case %(ref)s is a complaint about %(name)s, who may not "
                  "handle, own or work on it. Choose somebody else.")
                % {"ref": case.reference or case.pk, "name": user},
                field=field,
            )


@transaction.atomic
def case_set_complained_employee(
    *, actor: User, case_id: int, employee: User | None, expected_version: int | None = None,
) -> Case:
    """Name (or clear, ``employee=None``) the employee the complaint is about. Any agent may;
    the change is logged on the timeline and recorded in the audit trail. Refused while the
    employee owns, handles or is on the task force of the case: a supervisor transfers it
    first."""
    case = lock_case(case_id, expected_version)
    if not perms.can_work(case, actor):
        raise ActionForbidden(_("You may not change this case."))
    if employee is not None and not employee.is_active:
        raise InvalidInput(_("Choose an active employee."), field="complained_employee")
    if case.complained_employee_id == (employee.pk if employee else None):
        return case
    if employee is not None:
        team = {case.owner_id, case.handler_id, *case.task_force.values_list("pk", flat=True)}
        if employee.pk in team:
            raise InvalidInput(
                _("%(name)s owns, handles or is on the task force of this case: a supervisor "
                  "must give it to somebody else first.") % {"name": employee},
                field="complained_employee",
            )
    old = case.complained_employee
    case.complained_employee = employee
    log_change(case, field="recusal", name="complained_employee", source=old or "—",
               target=employee or "—", actor=actor)
    save_case(case)
    return case
