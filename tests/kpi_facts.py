"""The hand-computed KPI fixture set (used by test_kpis and test_kpi_summaries).

The week under test is W = Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00, Asia/Shanghai;
facts are read at NOW = Wednesday 2026-11-25 12:00 Shanghai. Cases are written with their
facts directly (the KPIs read facts, not transitions), so each expected number can be
checked by hand against the table in ``facts``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cases.choices import Stage, Tier
from cases.models import Case, CaseTransition, CollaborationRequest
from cases.models.collaboration import RequestStatus
from reporting import kpis as K
from tests.factories import CustomerFactory, DepartmentFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SH)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SH)


W = K.Window(at(16), at(23), NOW)
PREV = K.Window(at(9), at(16), NOW)
NEXT = K.Window(at(23), at(30), NOW)


def make(customer, *, received_at, tier=Tier.ROUTINE, stage=Stage.IN_PROGRESS, **facts) -> Case:
    hours = {Tier.URGENT: 1, Tier.IMPORTANT: 2}.get(tier, 4)
    values = {
        "tracking_code": "T", "customer": customer, "channel": "web", "category": "delivery",
        "subject": "s", "description": "d", "received_at": received_at, "tier": tier,
        "stage": stage, "response_due_at": received_at + timedelta(hours=hours),
        "solution_due_at": received_at + timedelta(hours=72),
    }
    values.update(facts)
    return Case.objects.create(**values)


@pytest.fixture
def facts(db):
    """The hand-computed set (times Shanghai, November 2026; W = 16th to 22nd)."""
    plain, key, key2 = CustomerFactory(), CustomerFactory(is_key_customer=True), CustomerFactory(
        is_key_customer=True)
    d1, d2 = DepartmentFactory(code="logistics"), DepartmentFactory(code="billing")
    boss = UserFactory(username="kpi-boss")
    c = {}
    # c1: everything on time; hotline, billing, tier 2, key customer, closed satisfied in W;
    # paused 10 h (waiting for materials). c2 was paused 6 h.
    c["c1"] = make(key, received_at=at(16, 10), tier=Tier.IMPORTANT, channel="hotline",
                   category="billing", department=d1, first_responded_at=at(16, 10, 30),
                   resolved_at=at(17, 10), feedback_due_at=at(18, 10),
                   feedback_given_at=at(17, 15), revisit_due_at=at(19, 15),
                   revisit_done_at=at(19, 16), satisfaction_score=5, satisfied=True,
                   closed_at=at(19, 16), stage=Stage.CLOSED, paused_total=timedelta(hours=10),
                   # under a statutory regime: decided in time after one approved extension
                   statutory_due_at=at(20), statutory_stopped_at=at(17, 10),
                   extensions_requested=1, extensions_approved=1)
    # c2: late response, late resolution, feedback on time, dissatisfied revisit next week.
    c["c2"] = make(plain, received_at=at(17, 9), first_responded_at=at(17, 15),
                   # statutory: due on the 19th, decided on the 21st (late); 1 of 2 extensions
                   statutory_due_at=at(19), statutory_stopped_at=at(21, 10),
                   extensions_requested=2, extensions_approved=1,
                   response_breached=True, ever_breached=True, resolved_at=at(21, 10),
                   feedback_due_at=at(22, 10), feedback_given_at=at(22, 9),
                   revisit_due_at=at(24, 9), revisit_done_at=at(24, 10), satisfaction_score=2,
                   satisfied=False, stage=Stage.FOLLOW_UP, paused_total=timedelta(hours=6),
                   # asked for a review in W; due next week, not concluded at NOW
                   review_requested_at=at(22, 12), review_due_at=at(29, 12))
    # c3: never responded, solution overdue.
    c["c3"] = make(plain, received_at=at(18, 10), stage=Stage.TRIAGED)
    # c4: Sunday 23:30 Shanghai (15:30 UTC) is still W; solution still within its time.
    c["c4"] = make(plain, received_at=at(22, 23, 30), solution_due_at=at(25, 23, 30))
    # c5: Monday 00:00 Shanghai (Sunday 16:00 UTC) is the next week, not W.
    c["c5"] = make(plain, received_at=at(23), first_responded_at=at(23, 1))
    # c6: received in the previous week one second before midnight, resolved in W.
    c["c6"] = make(plain, received_at=at(15, 23, 59, 59), first_responded_at=at(16, 0, 30),
                   resolved_at=at(16, 1), feedback_due_at=at(17, 1),
                   feedback_given_at=at(17, 2), revisit_due_at=at(19, 2),
                   revisit_done_at=at(20, 10), satisfaction_score=4, satisfied=True,
                   closed_at=at(20, 10), stage=Stage.CLOSED)
    # c7: invalid (withdrawn): on time everywhere, yet excluded from everything.
    c["c7"] = make(key, received_at=at(17, 10), first_responded_at=at(17, 10, 5),
                   resolved_at=at(17, 12), feedback_due_at=at(18, 12),
                   feedback_given_at=at(17, 13), revisit_due_at=at(19, 13),
                   revisit_done_at=at(19, 14), satisfaction_score=1, satisfied=False,
                   closed_at=at(19, 14), stage=Stage.INVALID, retiered=True)
    # c8: re-tiered upward but responded on time; feedback overdue.
    c["c8"] = make(plain, received_at=at(18, 11), tier=Tier.IMPORTANT, retiered=True,
                   channel="app", category="product_quality", department=d2,
                   first_responded_at=at(18, 12), resolved_at=at(19, 11),
                   feedback_due_at=at(20, 11), stage=Stage.RESOLVED)
    # c9: slow response, closed, then reopened on the 20th (latest round: unresolved).
    c["c9"] = make(key, received_at=at(16, 12), first_responded_at=at(16, 17),
                   response_breached=True, reopen_count=1, solution_due_at=at(23, 12),
                   feedback_due_at=at(18, 12), revisit_due_at=at(19, 12))
    # c10: untriaged (tier 0), never responded.
    c["c10"] = make(plain, received_at=at(19, 8), tier=Tier.UNTRIAGED, stage=Stage.RECEIVED)
    # c11: key customer from the previous week, closed in W after a dissatisfied revisit.
    c["c11"] = make(key2, received_at=at(9, 10), first_responded_at=at(9, 11),
                    resolved_at=at(10, 10), feedback_due_at=at(11, 10),
                    feedback_given_at=at(11, 9), revisit_due_at=at(13, 9),
                    revisit_done_at=at(13, 10), satisfaction_score=3, satisfied=False,
                    follow_up_done_at=at(17, 10), closed_at=at(17, 10), stage=Stage.CLOSED,
                    # review asked after closing, concluded in W on time: decision changed
                    review_requested_at=at(17, 11), review_due_at=at(20, 12),
                    review_done_at=at(19, 10), review_changed=True)
    # c12: revisit fell due in W and was not done.
    c["c12"] = make(plain, received_at=at(10, 10), first_responded_at=at(10, 11),
                    resolved_at=at(15, 10), feedback_due_at=at(16, 10),
                    feedback_given_at=at(16, 9), revisit_due_at=at(18, 10),
                    stage=Stage.REVISIT)
    # c13: response clock still running at NOW (a long policy): outcome unknown.
    c["c13"] = make(plain, received_at=at(22, 23, 50), response_due_at=at(25, 13),
                    solution_due_at=at(28, 10), stage=Stage.TRIAGED)
    # c14: previous week's case, revisit due and done in W with score 3.
    c["c14"] = make(plain, received_at=at(12, 10), first_responded_at=at(12, 11),
                    resolved_at=at(13, 10), feedback_due_at=at(14, 10),
                    feedback_given_at=at(14, 9), revisit_due_at=at(16, 10),
                    revisit_done_at=at(16, 11), satisfaction_score=3, satisfied=False,
                    stage=Stage.FOLLOW_UP,
                    # review due in W, concluded late (21st): decision confirmed
                    review_requested_at=at(16, 12), review_due_at=at(18, 12),
                    review_done_at=at(21, 10), review_changed=False)
    # c15: slow response, then re-tiered upward (3 -> 1): an escalation.
    c["c15"] = make(plain, received_at=at(20, 10), tier=Tier.URGENT, retiered=True,
                    channel="wechat", category="product_quality", department=d1,
                    response_due_at=at(20, 14), first_responded_at=at(20, 15),
                    response_breached=True)
    # c16: slow response, re-tiered downward (2 -> 3): not an escalation.
    c["c16"] = make(plain, received_at=at(20, 11), retiered=True, first_responded_at=at(20, 16),
                    response_breached=True)
    for case, source, target in ((c["c15"], "3", "1"), (c["c16"], "2", "3"), (c["c8"], "3", "2")):
        CaseTransition.objects.create(case=case, field="tier", name="retier", source=source,
                                      target=target, actor=boss, at=case.received_at)
    CaseTransition.objects.create(case=c["c1"], field="tier", name="confirm_tier", source="0",
                                  target="2", actor=boss, at=at(16, 10))

    def request(case, dept, created, **kw):
        return CollaborationRequest.objects.create(
            case=case, department=dept, requested_by=boss, ask="?", created_at=created,
            due_at=created + timedelta(hours=24), **kw)

    request(c["c2"], d1, at(17, 10), answered_at=at(17, 20), status=RequestStatus.ANSWERED)
    request(c["c3"], d2, at(18, 11), answered_at=at(19, 12), status=RequestStatus.ANSWERED)
    request(c["c8"], d2, at(18, 12), status=RequestStatus.WITHDRAWN, closed_at=at(18, 18))
    request(c["c8"], d1, at(19, 12))
    request(c["c7"], d1, at(17, 11), answered_at=at(17, 12), status=RequestStatus.ANSWERED)
    request(c["c4"], d1, at(22, 23, 40))
    return {"cases": c, "d1": d1, "d2": d2}


EXPECTED_W = {
    # received in W (not invalid): c1 c2 c3 c4 c8 c9 c10 c13 c15 c16
    "first_response": Decimal("22.2"),  # on time c1 c8 / known c1 c2 c3 c4 c8 c9 c10 c15 c16
    "handling_complete": Decimal("37.5"),  # resolved c1 c2 c8 / due: + c3 c9 c10 c15 c16
    "late_handling": Decimal("75.0"),  # c2 c3 c9 c10 c15 c16 / 8
    "feedback_on_time": Decimal("50.0"),  # resolved in W: c1 c2 on time; c6 c8 late
    "revisit_done": Decimal("75.0"),  # due in W: c1 c6 c14 done, c12 not
    "satisfaction": Decimal("66.7"),  # answered in W: c1 (5) c6 (4) c14 (3)
    "tier_accuracy": Decimal("66.7"),  # tiered: 9 (not c10); re-tiered c8 c15 c16
    "slow_response_escalation": Decimal("30.0"),  # c2 (dissatisfied) c9 (reopened) c15 (up)
    "key_customer_recovery": Decimal("50.0"),  # closed in W, key: c1 satisfied, c11 not
    "department_response": Decimal("25.0"),  # r1 on time; r2 r4 r6 late; r3 r5 excluded
    "handling_cycle": Decimal("36.5"),  # (24 + 97 + 24 + 1.0003) h / 4
    "review_rate": Decimal("25.0"),  # fed back in W: c1 c2 c6 c12; c2 asked for a review
    "review_changed": Decimal("50.0"),  # concluded in W: c11 changed, c14 confirmed
    "review_on_time": Decimal("50.0"),  # due in W: c11 on time, c14 late (c2 due next week)
    "paused_time": Decimal("4.0"),  # resolved in W: c1 10 h, c2 6 h, c6 0, c8 0 -> 16 h / 4
    "statutory_on_time": Decimal("50.0"),  # c1 decided in time, c2 late
    "extensions_approved": Decimal("66.7"),  # approved 1 (c1) + 1 (c2) / requested 1 + 2
}
