"""What the workspace, the desk and the tracking page show of a case's pauses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from cases import permissions as perms
from cases.models import Case, CasePause, PauseReason, User


@dataclass
class PausePanel:
    """The workspace's pause card: the open pause (with its reason and evidence), the paused
    total so far, the reasons one may choose, and whether the user may pause or resume."""

    current: CasePause | None
    total: timedelta
    reasons: list[PauseReason]
    may_pause: bool
    history: list[CasePause]


def case_pause_panel(case: Case, user: User) -> PausePanel:
    """At most one query: the case's pauses (with reason and evidence), skipped for a case
    never paused. The reasons come from the desk configuration (cached per process)."""
    from cases.services.desk_config import desk_config

    pauses: list[CasePause] = []
    if case.paused_since is not None or case.paused_total:
        pauses = list(CasePause.objects.filter(case=case)
                      .select_related("reason", "evidence", "started_by", "ended_by"))
    current = next((p for p in pauses if p.ended_at is None), None)
    may = perms.can_pause(case, user)
    reasons: list[PauseReason] = []
    if may and case.paused_since is None:
        reasons = list(desk_config().pause_reasons)
    return PausePanel(current=current, total=paused_total(case), reasons=reasons,
                      may_pause=may, history=[p for p in pauses if p.ended_at is not None])


def paused_total(case: Case) -> timedelta:
    """Elapsed paused time of ``case`` including the open pause (no query)."""
    running = timezone.now() - case.paused_since if case.paused_since else timedelta(0)
    return case.paused_total + running


def open_pause_for_tracking(case: Case) -> CasePause | None:
    """The open pause with its reason, for the customer's tracking page (one query)."""
    if case.paused_since is None:
        return None
    return (CasePause.objects.filter(case=case, ended_at__isnull=True)
            .select_related("reason").first())
