"""The statutory clock of a case: which regime applies at intake, the deadlines it runs
(CaseDeadline rows with clock ``statutory`` and ``acceptance``, so the deadline sweep marks
them at risk and breached and alerts as for every clock), and the events that start and stop
them (receipt or acceptance, the decision)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils.translation import gettext as _

from cases.choices import Clock
from cases.models import Case, CaseDeadline, CaseRegime, Regime, User
from cases.models.statutory import RegimeStart
from cases.services import clocks
from cases.services.errors import InvalidInput
from cases.services.intake_input import IntakeData
from cases.services.statutory.limits import Limit, capped, count_limit, due_label
from cases.services.transitions import log_change

RegimeRules = tuple[tuple[int, str, frozenset[int], frozenset[str]], ...]


def regime_id_for(data: IntakeData, rules: RegimeRules) -> int | None:
    """The regime a complaint runs under: the one chosen at intake, else the intake channel's,
    else its category's (the first by code), else none. No query: ``rules`` come from the
    desk configuration. Raises InvalidInput for an unknown or inactive regime code."""
    if data.regime:
        for pk, code, _channels, _categories in rules:
            if code == data.regime:
                return pk
        raise InvalidInput(_("Unknown statutory regime “%(code)s”.") % {"code": data.regime},
                           field="regime")
    if data.source_id is not None:
        for pk, _code, channels, _categories in rules:
            if data.source_id in channels:
                return pk
    for pk, _code, _channels, categories in rules:
        if data.category in categories:
            return pk
    return None


def find_forwarded(data: IntakeData, rules: RegimeRules) -> Case | None:
    """The case already created for this regulator reference under the complaint's regime
    (None without a reference: no query then)."""
    if not data.regulator_reference:
        return None
    try:
        regime_id = regime_id_for(data, rules)
    except InvalidInput:
        return None  # the create reports it
    if regime_id is None:
        return None
    return (Case.objects.select_related("customer")
            .annotate(duplicate_reference=F("duplicate_of__reference"))
            .filter(statutory__regime_id=regime_id,
                    statutory__regulator_reference=data.regulator_reference).first())


def _row(case: Case, clock: str, start: datetime, limit: Limit) -> CaseDeadline:
    return CaseDeadline(case=case, clock=clock, started_at=start, due_at=limit.due_at,
                        risk_at=limit.risk_at, basis=limit.basis, calendar_id=limit.calendar_id)


def _log_problem(case: Case, limit: Limit, actor: User | None) -> None:
    """Record on the timeline that a working-day limit was counted in calendar days."""
    if limit.problem:
        log_change(case, field="statutory", name="statutory_calendar_days", source="",
                   target=due_label(limit.due_at), actor=actor, note=limit.problem)


def _start_decision_clock(case: Case, link: CaseRegime, start: datetime,
                          ) -> tuple[CaseDeadline, Limit]:
    """The statutory row (unsaved) and its facts on ``link`` and ``case``: the regime's first
    limit, or the regulator's own deadline when that is earlier."""
    regime = link.regime
    limit = capped(count_limit(regime, start, regime.first_limit_days), start,
                   link.regulator_due_at)
    link.started_at, link.due_at = start, limit.due_at
    case.statutory_due_at = limit.due_at
    return _row(case, Clock.STATUTORY, start, limit), limit


def statutory_intake(*, case: Case, data: IntakeData, rules: RegimeRules) -> CaseRegime | None:
    """Put a new case (saved, its clocks written) under its regime: the regime row with the
    regulator's reference and deadline, the acceptance clock from receipt when the regime
    has one, and the statutory clock when it starts at receipt; the case's statutory due and
    SLA summary updated. Nothing (and no query) when no regime applies. Raises InvalidInput
    for an unknown regime, or a regulator reference with no regime; the caller's transaction
    then rolls back. A calendar without the year's data does not refuse the complaint: see
    ``count_limit``."""
    regime_id = regime_id_for(data, rules)
    if regime_id is None:
        if data.regulator_reference:
            raise InvalidInput(_("A regulator's reference needs a statutory regime: choose "
                                 "one."), field="regime")
        return None
    regime = Regime.objects.get(pk=regime_id)
    link = CaseRegime(case=case, regime=regime, regulator_reference=data.regulator_reference,
                      regulator_due_at=data.regulator_due_at)
    start = data.clocks_start_at or case.received_at
    acceptance = statutory = None
    limits: list[Limit] = []
    if regime.acceptance_days:
        limits.append(count_limit(regime, start, regime.acceptance_days))
        link.acceptance_due_at = limits[-1].due_at
        acceptance = _row(case, Clock.ACCEPTANCE, start, limits[-1])
    if regime.starts_at == RegimeStart.RECEIPT:
        statutory, limit = _start_decision_clock(case, link, start)
        limits.append(limit)
    rows = [r for r in (acceptance, statutory) if r is not None]
    CaseDeadline.objects.bulk_create(rows)
    link.acceptance_deadline, link.deadline = acceptance, statutory
    link.save(force_insert=True)
    for limit in limits:
        _log_problem(case, limit, None)
    clocks.refresh_case_sla(case)
    Case.objects.filter(pk=case.pk).update(
        statutory_due_at=case.statutory_due_at, next_due_at=case.next_due_at,
        next_risk_at=case.next_risk_at, sla_state=case.sla_state,
        ever_breached=case.ever_breached)
    return link


def statutory_on_acceptance(case: Case, *, actor: User | None, at: datetime) -> None:
    """The case was accepted (triaged): stop the acceptance clock, and start the statutory
    clock of a regime counted from acceptance. Precondition: the caller holds the case's row
    lock and refreshes and saves the case afterwards."""
    link = CaseRegime.objects.select_related("regime").filter(case=case).first()
    if link is None:
        return
    if link.acceptance_due_at is not None:
        clocks.stop_clock(case, Clock.ACCEPTANCE, at)
    if link.regime.starts_at == RegimeStart.ACCEPTANCE and link.started_at is None:
        row, limit = _start_decision_clock(case, link, at)
        row.save(force_insert=True)
        _log_problem(case, limit, actor)
        link.deadline = row
        link.save(update_fields=["started_at", "due_at", "deadline"])
        log_change(case, field="statutory", name="statutory_start", source="",
                   target=due_label(link.due_at), actor=actor,
                   note=str(link.regime))


def statutory_on_decision(case: Case, *, at: datetime) -> None:
    """The case was decided (resolved): the statutory clock stops, late or not. No query
    for a case without a statutory clock. Precondition as ``statutory_on_acceptance``."""
    if case.statutory_due_at is None or case.statutory_stopped_at is not None:
        return
    clocks.stop_clock(case, Clock.STATUTORY, at)
    case.statutory_stopped_at = at

