"""What a department request changes on its case: the department clock, and the case's
``waiting_department`` stage while a request waits for an agreed plan."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from cases.choices import SlaState, Stage
from cases.models import Case, CaseDeadline, CollaborationRequest, Department
from cases.models.collaboration import WAITING_REQUEST_STATUSES
from cases.services import clocks
from cases.services.transitions import run_case_transition, save_case


def start_department_clock(case: Case, now: datetime, department: Department) -> clocks.Window:
    """The department's answer is due by the SLA policy of the case's tier (in working time
    on the department's calendar where the policy says so)."""
    return clocks.department_window(case, department.calendar_id, now)


def stop_department_clock(req: CollaborationRequest, at: datetime) -> None:
    """Stop the request's clock. An answer after the due time counts as a breach even when no
    sweep ran in between (the KPI 'department response within 24 h' reads these rows)."""
    for row in CaseDeadline.objects.filter(request=req, stopped_at__isnull=True):
        row.stopped_at = at
        fields = ["stopped_at"]
        if at > row.due_at and row.state != SlaState.BREACHED:
            row.state, row.breached_at = SlaState.BREACHED, row.due_at
            fields += ["state", "breached_at"]
            req.case.ever_breached = True
        row.save(update_fields=fields)


def sync_case(case: Case) -> None:
    """Move the case into or out of ``waiting_department`` after a request changed, then
    refresh its deadline state and save it."""
    waiting = list(
        CollaborationRequest.objects.filter(case=case, status__in=WAITING_REQUEST_STATUSES)
        .select_related("department").order_by("created_at")
    )
    names = ", ".join(dict.fromkeys(str(r.department) for r in waiting))
    if waiting and case.stage == Stage.IN_PROGRESS:
        _run_case(case, "wait_for_department", _("Waiting on %(dept)s") % {"dept": names})
    elif not waiting and case.stage == Stage.WAITING_DEPARTMENT:
        _run_case(case, "resume", _("No department request is waiting any more."))
    clocks.refresh_case_sla(case)
    save_case(case)


def _run_case(case: Case, name: str, note: str) -> None:
    run_case_transition(case, name, None, note=note)
