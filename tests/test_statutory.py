"""Statutory regimes (issue 14 items 5 and 6): which regime a case runs under, its statutory
clocks on real dates of the official calendar, and extensions with approval."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from cases import services
from cases.choices import Category, ChannelKind, Clock, Role, SlaState, Stage
from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseRegime,
    ExtensionRequest,
    Notice,
    Regime,
    RegimeExtensionStep,
)
from cases.models.notices import NoticeKind
from cases.models.statutory import ExtensionStatus
from cases.services import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.statutory import extension_decide, extension_request
from tests.factories import UserFactory, advance, channel

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
BANKING = "cn-banking-insurance"
MARKET = "cn-market-regulation"
CFPB = "us-cfpb"


def intake(**kw) -> services.IntakeResult:
    customer = services.CustomerData(name="王芳", phone=kw.pop("phone", "13800138000"),
                                     email="wang@example.com")
    fields = {"channel": ChannelKind.WEB, "category": Category.BILLING,
              "subject": "信用卡年费争议", "description": "未经同意收取年费。", **kw}
    return services.case_intake(actor=None, data=services.IntakeData(customer=customer, **fields))


def statutory_row(case: Case, clock: str = Clock.STATUTORY) -> CaseDeadline:
    return case.deadlines.get(clock=clock)


# --- which regime --------------------------------------------------------------------------------
def test_a_regime_applies_by_intake_channel():
    regime = Regime.objects.get(code=CFPB)
    regime.channels.add(channel("app"))
    case = intake(source_id=channel("app").pk).case
    other = intake(source_id=channel("web").pk, phone="13800138001").case
    assert case.statutory.regime == regime
    assert not CaseRegime.objects.filter(case=other).exists()


def test_a_regime_applies_by_category():
    regime = Regime.objects.get(code=BANKING)
    regime.categories = [Category.BILLING]
    regime.save()
    billing = intake().case
    delivery = intake(category=Category.DELIVERY, phone="13800138001").case
    assert billing.statutory.regime == regime
    assert not CaseRegime.objects.filter(case=delivery).exists()


def test_an_explicit_regime_with_the_regulators_reference_and_deadline_is_idempotent():
    deadline = timezone.now() + timedelta(days=10)
    first = intake(regime=BANKING, regulator_reference="NFRA-2026-0815",
                   regulator_due_at=deadline)
    again = intake(regime=BANKING, regulator_reference="NFRA-2026-0815",
                   regulator_due_at=deadline, phone="13900000000")
    assert first.created and not again.created
    assert again.case.pk == first.case.pk
    link = first.case.statutory
    assert (link.regime.code, link.regulator_reference) == (BANKING, "NFRA-2026-0815")
    assert link.regulator_due_at == deadline
    assert Case.objects.count() == 1


def test_the_same_reference_under_another_regime_is_another_case():
    a = intake(regime=BANKING, regulator_reference="REF-1")
    b = intake(regime=CFPB, regulator_reference="REF-1", phone="13800138001")
    assert a.case.pk != b.case.pk


@pytest.mark.parametrize(("fields", "field"), [
    ({"regime": "no-such-regime"}, "regime"),
    ({"regulator_reference": "SAMR-1"}, "regime"),
    ({"regime": BANKING, "regulator_due_at": timezone.now() + timedelta(days=3)},
     "regulator_reference"),
    ({"regime": BANKING, "regulator_reference": "X" * 65}, "regulator_reference"),
])
def test_bad_statutory_intake_is_refused_and_changes_nothing(fields, field):
    with pytest.raises(InvalidInput) as exc:
        intake(**fields)
    assert exc.value.field == field
    assert Case.objects.count() == 0 and CaseRegime.objects.count() == 0


# --- the clocks on real dates ---------------------------------------------------------------------
def test_seven_working_days_from_the_eve_of_national_day_end_after_the_holiday():
    """Received on the last working afternoon before the 2026 National Day holiday: the
    acceptance limit of 7 working days counts Oct 8, 9, the make-up Saturday 10, 12, 13, 14
    and 15, and ends at the close of working hours on the 15th."""
    received = datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    case = intake(regime=MARKET, received_at=received).case
    row = statutory_row(case, Clock.ACCEPTANCE)
    assert row.due_at == datetime(2026, 10, 15, 18, 0, tzinfo=SHANGHAI)
    assert row.basis == "working"
    assert case.statutory.acceptance_due_at == row.due_at
    # The mediation limit counts from acceptance, so nothing runs for it yet.
    assert not case.deadlines.filter(clock=Clock.STATUTORY).exists()


def test_calendar_days_end_at_midnight_of_the_last_day():
    received = datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    case = intake(regime=CFPB, received_at=received).case
    assert statutory_row(case).due_at == datetime(2026, 10, 16, 0, 0, tzinfo=SHANGHAI)
    case.refresh_from_db()
    assert case.statutory_due_at == statutory_row(case).due_at


def test_the_regulators_earlier_deadline_is_the_statutory_due():
    deadline = timezone.now() + timedelta(days=5)
    case = intake(regime=CFPB, regulator_reference="CFPB-1", regulator_due_at=deadline).case
    assert statutory_row(case).due_at == deadline


def test_acceptance_stops_the_acceptance_clock_and_starts_the_statutory_one():
    with time_machine.travel(datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI), tick=False):
        case = intake(regime=MARKET).case
    with time_machine.travel(datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI), tick=False):
        case = advance(case, Stage.TRIAGED)
    acceptance = statutory_row(case, Clock.ACCEPTANCE)
    statutory = statutory_row(case)
    assert acceptance.stopped_at is not None and acceptance.state == SlaState.ON_TIME
    assert statutory.stopped_at is None
    assert statutory.due_at == case.statutory.due_at == case.statutory_due_at
    # 45 working days from acceptance on the eve of National Day (with its make-up Saturday).
    assert statutory.due_at == datetime(2026, 12, 8, 18, 0, tzinfo=SHANGHAI)
    assert case.transitions.filter(name="statutory_start").exists()


def test_a_limit_into_a_year_without_data_counts_calendar_days_and_says_so(supervisor):
    """45 working days from late November need 2027, which the official calendar lacks: the
    case is accepted all the same, its limit counted in calendar days (an earlier end), and
    the timeline says why."""
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI), tick=False):
        case = intake(regime=MARKET).case
        services.case_triage(actor=supervisor, case_id=case.pk, urgency=case.urgency,
                             scope=case.scope, difficulty=case.difficulty, tier=3)
    row = statutory_row(case)
    assert row.due_at == datetime(2027, 1, 5, 0, 0, tzinfo=SHANGHAI)  # Nov 20 + 45 days
    assert row.basis == "elapsed"
    logged = case.transitions.get(name="statutory_calendar_days")
    assert "2027" in logged.note


def test_a_tier_change_does_not_retime_the_statutory_clock(supervisor):
    case = advance(intake(regime=BANKING).case, Stage.TRIAGED)
    due = statutory_row(case).due_at
    services.case_retier(actor=supervisor, case_id=case.pk, tier=1, reason="紧急")
    assert statutory_row(case).due_at == due


def test_the_decision_stops_the_statutory_clock():
    case = advance(intake(regime=BANKING).case, Stage.RESOLVED)
    row = statutory_row(case)
    assert row.stopped_at is not None and row.state == SlaState.ON_TIME
    assert case.statutory_stopped_at == row.stopped_at


def test_a_complaint_is_never_refused_for_a_missing_calendar_year():
    late_december = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
    with time_machine.travel(late_december, tick=False):
        case = intake(regime=MARKET).case
    row = statutory_row(case, Clock.ACCEPTANCE)
    assert row.due_at == datetime(2027, 1, 5, 0, 0, tzinfo=SHANGHAI)  # 7 calendar days
    assert "2027" in case.transitions.get(name="statutory_calendar_days").note


# --- extensions ---------------------------------------------------------------------------
@pytest.fixture
def banking_case(frontline):
    """A banking complaint accepted today and being handled by ``frontline``."""
    return advance(intake(regime=BANKING).case, Stage.IN_PROGRESS, handler=frontline)


def test_an_approved_extension_moves_the_statutory_date_and_queues_the_notice(
        banking_case, frontline, supervisor, django_capture_on_commit_callbacks):
    case = banking_case
    link = case.statutory
    first_due = link.due_at
    request = extension_request(actor=frontline, case_id=case.pk, reason="需调取第三方交易记录")
    assert request.status == ExtensionStatus.PENDING and request.days == 15
    assert Alert.objects.filter(recipient=supervisor, kind="extension_requested").exists()
    with django_capture_on_commit_callbacks():
        extension_decide(actor=supervisor, extension_id=request.pk, approve=True)
    case.refresh_from_db()
    link.refresh_from_db()
    expected = (timezone.localtime(link.started_at).date() + timedelta(days=31))
    assert timezone.localtime(link.due_at) == datetime.combine(
        expected, datetime.min.time(), tzinfo=SHANGHAI)
    assert link.due_at > first_due
    assert case.statutory_due_at == link.due_at == statutory_row(case).due_at
    assert (case.extensions_requested, case.extensions_approved) == (1, 1)
    notice = Notice.objects.get(case=case, kind=NoticeKind.EXTENSION)
    assert "需调取第三方交易记录" in notice.body
    assert f"{expected - timedelta(days=1):%Y-%m-%d}" in notice.body  # the last day
    assert case.transitions.filter(name="extension_approve").exists()
    assert Alert.objects.filter(recipient=frontline, kind="extension_decided").exists()


def test_each_step_needs_its_own_role_and_then_no_step_is_left(
        banking_case, frontline, supervisor, senior):
    case = banking_case
    RegimeExtensionStep.objects.filter(regime__code=BANKING, position=2).update(
        approver_role=Role.SENIOR)
    first = extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")
    extension_decide(actor=supervisor, extension_id=first.pk, approve=True)
    second = extension_request(actor=frontline, case_id=case.pk, reason="情况特别复杂")
    assert (second.days, second.approver_role) == (30, Role.SENIOR)
    with pytest.raises(ActionForbidden):
        extension_decide(actor=supervisor, extension_id=second.pk, approve=True)
    extension_decide(actor=senior, extension_id=second.pk, approve=True)
    case.statutory.refresh_from_db()
    assert case.statutory.extended_days == 45
    with pytest.raises(ActionNotAllowed, match="no further extension"):
        extension_request(actor=frontline, case_id=case.pk, reason="再延长")


def test_an_extension_past_the_maximum_is_refused(banking_case, frontline):
    Regime.objects.filter(code=BANKING).update(max_total_days=20)
    with pytest.raises(ActionNotAllowed, match="maximum"):
        extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")
    assert not ExtensionRequest.objects.exists()


def test_an_extension_without_a_reason_is_refused(banking_case, frontline):
    with pytest.raises(InvalidInput) as exc:
        extension_request(actor=frontline, case_id=banking_case.pk, reason="  ")
    assert exc.value.field == "reason"
    assert not ExtensionRequest.objects.exists()
    banking_case.refresh_from_db()
    assert banking_case.extensions_requested == 0


def test_approval_without_the_role_is_refused_and_changes_nothing(
        banking_case, frontline, frontline2, supervisor):
    request = extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")
    due = banking_case.statutory.due_at
    for actor in (frontline2, frontline):
        with pytest.raises(ActionForbidden):
            extension_decide(actor=actor, extension_id=request.pk, approve=True)
    request.refresh_from_db()
    assert request.status == ExtensionStatus.PENDING
    banking_case.statutory.refresh_from_db()
    assert banking_case.statutory.due_at == due


def test_the_requester_may_not_approve_their_own_extension(supervisor):
    case = advance(intake(regime=BANKING).case, Stage.IN_PROGRESS, handler=supervisor)
    request = extension_request(actor=supervisor, case_id=case.pk, reason="情况复杂")
    with pytest.raises(ActionForbidden):
        extension_decide(actor=supervisor, extension_id=request.pk, approve=True)


def test_a_refused_extension_changes_no_date_and_sends_no_notice(
        banking_case, frontline, supervisor):
    due = banking_case.statutory.due_at
    request = extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")
    extension_decide(actor=supervisor, extension_id=request.pk, approve=False, note="证据已齐")
    request.refresh_from_db()
    banking_case.refresh_from_db()
    assert request.status == ExtensionStatus.REFUSED and request.decided_by == supervisor
    assert banking_case.statutory.due_at == due == banking_case.statutory_due_at
    assert banking_case.extensions_approved == 0
    assert not Notice.objects.filter(kind=NoticeKind.EXTENSION).exists()
    assert banking_case.transitions.filter(name="extension_refuse").exists()


def test_one_pending_request_at_a_time(banking_case, frontline):
    extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")
    with pytest.raises(ActionNotAllowed, match="already awaiting"):
        extension_request(actor=frontline, case_id=banking_case.pk, reason="再次申请")


def test_no_extension_before_acceptance_or_without_a_regime(frontline, supervisor):
    received = intake(regime=BANKING).case
    with pytest.raises(ActionNotAllowed, match="not started"):
        extension_request(actor=supervisor, case_id=received.pk, reason="情况复杂")
    plain = advance(intake(phone="13800138009").case, Stage.IN_PROGRESS, handler=frontline)
    with pytest.raises(ActionNotAllowed, match="no statutory regime"):
        extension_request(actor=frontline, case_id=plain.pk, reason="情况复杂")


def test_an_extension_past_the_regulators_deadline_is_refused(frontline):
    deadline = timezone.now() + timedelta(days=20)
    case = advance(intake(regime=BANKING, regulator_reference="NFRA-9",
                          regulator_due_at=deadline).case, Stage.IN_PROGRESS, handler=frontline)
    with pytest.raises(ActionNotAllowed, match="regulator"):
        extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")


def test_only_the_case_team_or_a_supervisor_may_request(banking_case, frontline2):
    with pytest.raises(ActionForbidden):
        extension_request(actor=frontline2, case_id=banking_case.pk, reason="情况复杂")


def test_an_expired_limit_cannot_be_extended(banking_case, frontline):
    banking_case.statutory.__class__.objects.filter(pk=banking_case.statutory.pk).update(
        due_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ActionNotAllowed, match="already passed"):
        extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")


def test_the_approver_role_gets_the_alert_in_their_language(banking_case, frontline):
    boss_en = UserFactory(username="boss-en", role=Role.SUPERVISOR, language="en")
    extension_request(actor=frontline, case_id=banking_case.pk, reason="情况复杂")
    alert = Alert.objects.get(recipient=boss_en, kind="extension_requested")
    assert "awaits your approval" in alert.message


# --- supervision by the deadline sweep ----------------------------------------------------
def test_the_sweep_marks_the_statutory_clock_and_alerts(banking_case, frontline, supervisor):
    from cases.services.sweeps import deadline_sweep

    row = statutory_row(banking_case)
    with time_machine.travel(row.risk_at + timedelta(minutes=1), tick=False):
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.AT_RISK
    with time_machine.travel(row.due_at + timedelta(minutes=1), tick=False):
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.BREACHED
    breached = Alert.objects.filter(deadline=row, kind="deadline_breached")
    assert {a.recipient for a in breached} >= {supervisor}
    assert "Statutory limit" in breached.get(recipient=supervisor).message
