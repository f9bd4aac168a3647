"""Cross-department collaboration: an agent asks a department (its liaison) for help on a case.

Each action runs in one transaction, locks the case and then the request (always in that
order, so two actions on one case cannot deadlock), checks the actor through the request's
django-fsm transition, records the step on the case timeline and tells the people concerned.

Timeline: every step is a ``CaseTransition`` row with ``field="request"``, ``name`` the
request's transition (``request_help`` for the creation, ``request_note`` for progress notes,
``request_overdue`` for the sweep), ``source``/``target`` the request statuses and ``note``
"<department>: <text>". Internal case notes are not used: liaisons never see those.

The case waits (stage ``waiting_department``) while any of its requests waits for an agreed
plan (open, answered or escalated); it resumes when the last one is accepted, decided or
withdrawn. These stage moves are system moves (``actor=None``): the request row next to them
names the person.

The department's answer is due by the SLA policy's ``department_minutes`` (24 h by default),
as a ``CaseDeadline`` row with ``clock=department`` and ``request=...``; it stops when the
department proposes a plan (or the request is withdrawn). ``request_overdue_sweep`` marks
overdue rows breached, alerts the liaison and the requesting agent once, and refreshes the
case's deadline state, which puts the case in the supervision queue.

One concept per module: ``steps`` (what every action on a request does), ``alerts``,
``case_sync`` (the department clock and the case's waiting stage), ``lifecycle`` (the
request's transitions), ``todos`` (to-dos and progress notes) and ``overdue`` (the sweep).
"""

from cases.permissions import can_request_help

from .alerts import (
    ALERT_ANSWERED,
    ALERT_CLOSED,
    ALERT_DECIDED,
    ALERT_ESCALATED,
    ALERT_NEW,
    ALERT_OVERDUE,
)
from .lifecycle import (
    request_accept,
    request_answer,
    request_complete,
    request_create,
    request_decide,
    request_dispute,
    request_withdraw,
)
from .overdue import request_overdue_sweep
from .steps import REQUESTABLE_STAGES, TIMELINE_FIELD, can_collaborate
from .todos import request_add_note, todo_add, todo_assignees, todo_toggle

__all__ = [
    "ALERT_ANSWERED",
    "ALERT_CLOSED",
    "ALERT_DECIDED",
    "ALERT_ESCALATED",
    "ALERT_NEW",
    "ALERT_OVERDUE",
    "REQUESTABLE_STAGES",
    "TIMELINE_FIELD",
    "can_collaborate",
    "can_request_help",
    "request_accept",
    "request_add_note",
    "request_answer",
    "request_complete",
    "request_create",
    "request_decide",
    "request_dispute",
    "request_overdue_sweep",
    "request_withdraw",
    "todo_add",
    "todo_assignees",
    "todo_toggle",
]
