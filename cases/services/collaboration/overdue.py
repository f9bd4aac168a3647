"""The sweep that marks department requests overdue and tells the people concerned."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import Clock, Role, SlaState
from cases.models import Alert, CaseDeadline, User
from cases.services import clocks
from cases.services.transitions import save_case

from .alerts import ALERT_OVERDUE, notify
from .steps import lock_request, log_step


def request_overdue_sweep(now: datetime | None = None) -> int:
    """Mark department clocks that ran past their due time breached, alert the liaison and the
    requesting agent (once per request: the alert rows are unique per person, deadline and
    kind), note it on the timeline and refresh the case's deadline state so that the case
    shows in the supervision queue. Safe to run again and concurrently; returns how many
    requests became overdue in this run."""
    now = now or timezone.now()
    already = Alert.objects.filter(deadline=OuterRef("pk"), kind=ALERT_OVERDUE)
    due = list(
        CaseDeadline.objects.filter(
            clock=Clock.DEPARTMENT, request__isnull=False, stopped_at__isnull=True,
            due_at__lte=now,
        ).exclude(Exists(already)).values_list("pk", flat=True)[:500]
    )
    count = 0
    for deadline_id in due:
        if _mark_overdue(deadline_id, now):
            count += 1
    return count


@transaction.atomic
def _mark_overdue(deadline_id: int, now: datetime) -> bool:
    request_id = (
        CaseDeadline.objects.filter(pk=deadline_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        return False
    req = lock_request(request_id)
    row = CaseDeadline.objects.select_for_update().filter(
        pk=deadline_id, stopped_at__isnull=True).first()
    if row is None or Alert.objects.filter(deadline=row, kind=ALERT_OVERDUE).exists():
        return False  # answered or handled by a concurrent sweep meanwhile
    if row.state != SlaState.BREACHED:
        row.state, row.breached_at = SlaState.BREACHED, row.due_at
        row.save(update_fields=["state", "breached_at"])
    req.case.ever_breached = True
    log_step(req, name="request_overdue", source=req.status, actor=None,
             text=_("no plan proposed by the due time"))
    recipients: list[User | None] = [req.department.liaison, req.requested_by]
    if not any(u is not None and u.is_active for u in recipients):
        recipients = list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True))
    notify(recipients, case=req.case, kind=ALERT_OVERDUE, now=now, deadline=row,
           message=lambda: _("Overdue: %(dept)s has not answered the request on case %(ref)s.")
           % {"dept": req.department, "ref": req.case.reference})
    clocks.refresh_case_sla(req.case, now)
    save_case(req.case)
    return True
