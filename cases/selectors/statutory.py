"""What the case workspace and the progress page show of a case's statutory regime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import translation

from cases import permissions as perms
from cases.models import Case, CaseRegime, ExtensionRequest, RegimeExtensionStep, User
from cases.models.statutory import ExtensionStatus
from cases.services.statutory import (
    days_label,
    due_label,
    last_day,
    may_decide,
    regime_limit_label,
)


def case_regime(case: Case) -> CaseRegime | None:
    """The case's regime row, from the ``statutory__regime`` select_related when the loader
    did one (no query), else one query."""
    return getattr(case, "statutory", None)


def regime_name(link: CaseRegime) -> str:
    """The regime's name in the active language."""
    language = translation.get_language() or ""
    return link.regime.name if language.startswith("zh") else link.regime.name_en


@dataclass
class StatutoryPanel:
    """The workspace's statutory panel: the regime and its limits, the due date, the
    extensions asked for, and what the viewer may do."""

    link: CaseRegime
    name: str
    limit: str
    due_at: datetime | None
    due: str  # as people write a legal limit (``due_label``)
    acceptance_due: str
    extensions: list[ExtensionRequest]
    next_step: RegimeExtensionStep | None
    next_step_label: str
    can_request: bool
    pending: ExtensionRequest | None
    can_decide: bool


def statutory_panel(case: Case, user: User) -> StatutoryPanel | None:
    """The panel, or None for a case under no regime (no query then, when the case was read
    with ``statutory__regime``). Two queries otherwise: the extensions and the steps."""
    link = case_regime(case)
    if link is None:
        return None
    extensions = list(ExtensionRequest.objects.filter(case=case)
                      .select_related("requested_by", "decided_by"))
    steps = list(link.regime.steps.order_by("position"))
    pending = next((e for e in extensions if e.status == ExtensionStatus.PENDING), None)
    next_step = steps[link.steps_used] if link.steps_used < len(steps) else None
    running = link.started_at is not None and case.statutory_stopped_at is None
    return StatutoryPanel(
        link=link, name=regime_name(link), limit=regime_limit_label(link.regime),
        due_at=link.due_at, due=due_label(link.due_at) if link.due_at else "",
        acceptance_due=due_label(link.acceptance_due_at) if link.acceptance_due_at else "",
        extensions=extensions, next_step=next_step,
        next_step_label=days_label(next_step.days, link.regime.basis) if next_step else "",
        can_request=running and pending is None and next_step is not None
        and perms.can_handle(case, user),
        pending=pending, can_decide=pending is not None and may_decide(pending, user),
    )


@dataclass(frozen=True)
class PublicStatutory:
    """What the complainant sees of the statutory limit on the progress page."""

    name: str
    limit: str
    due_on: date | None  # the last day (a limit ending at 24:00 names that day)
    acceptance_due_on: date | None
    extended_days: int
    decided: bool


def statutory_for_tracking(case: Case) -> PublicStatutory | None:
    """The regime, its basis and the statutory due date for ``/track/`` (None without a
    regime; one query, or none when the case was read with ``statutory__regime``)."""
    link = case_regime(case)
    if link is None:
        return None
    return PublicStatutory(
        name=regime_name(link), limit=regime_limit_label(link.regime),
        due_on=last_day(link.due_at) if link.due_at else None,
        acceptance_due_on=(last_day(link.acceptance_due_at)
                           if link.acceptance_due_at and link.started_at is None else None),
        extended_days=link.extended_days, decided=case.statutory_stopped_at is not None)
