"""Simulated customers and cases: each case walks the process as far as chance takes it, with
consistent timestamps, its open clocks and (for a rich seed) its history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from cases.choices import (
    Category,
    ChannelKind,
    Clock,
    CompensationKind,
    CompensationStatus,
    ContactChannel,
    Difficulty,
    NoteKind,
    RevisitMethod,
    Scope,
    SlaState,
    Stage,
    Tier,
    Urgency,
)
from cases.models import (
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Customer,
    Department,
    Revisit,
    RootCause,
    SlaPolicy,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.services.clocks import REVISIT_ANSWER_WINDOW
from cases.services.lifecycle import suggest_tier

from .samples import CHANNEL_WEIGHTS, DESCRIPTIONS, ENGLISH, GIVEN, SUBJECTS, SURNAMES


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def simulated_customer(rng: random.Random, i: int) -> Customer:
    english = rng.random() < 0.2
    name = rng.choice(ENGLISH) if english else rng.choice(SURNAMES) + rng.choice(GIVEN)
    return Customer(
        name=name, phone=f"13{rng.randint(0, 9)}{i:08d}"[:11],
        email=f"customer{i}@example.com" if rng.random() < 0.7 else "",
        preferred_channel=rng.choice(ContactChannel.values),
        is_key_customer=rng.random() < 0.08, language="en" if english else "zh-hans",
    )


class Simulation:
    """Simulates one case's path; every time is derived from the previous one."""

    def __init__(self, rng: random.Random, now: datetime, days: int,
                 policies: dict[int, SlaPolicy]) -> None:
        self.rng, self.now, self.days, self.policies = rng, now, days, policies

    def minutes(self, lo: float, hi: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(lo, hi))

    def case(self, pk: int, customer_id: int, staff: dict[str, User], depts: list[Department],
             root_causes: list[RootCause]) -> tuple[Case, list, list, list, list, list, list]:
        rng, now = self.rng, self.now
        age = timedelta(days=self.days) * (rng.random() ** 1.6)  # more recent cases
        received = now - age
        category = rng.choice(Category.values)
        urgency = Urgency.EMERGENCY if rng.random() < 0.05 else Urgency.ROUTINE
        scope = Scope.GROUP if rng.random() < 0.04 else Scope.INDIVIDUAL
        difficulty = (Difficulty.CROSS_DEPARTMENT if rng.random() < 0.25
                      else Difficulty.FRONTLINE)
        suggested = suggest_tier(urgency=urgency, scope=scope, difficulty=difficulty)
        channel = _weighted(rng, CHANNEL_WEIGHTS)
        zh, en = rng.choice(SUBJECTS[category])
        english = rng.random() < 0.2
        agent = rng.choice([staff["agent"], staff["agent2"], staff["senior"]])
        agent_logged = channel in (ChannelKind.HOTLINE, ChannelKind.WALK_IN, ChannelKind.LETTER)
        retiered = rng.random() < 0.06
        tier = suggested if not retiered else rng.choice(
            [t for t in (1, 2, 3) if t != suggested])
        policy = self.policies[tier]
        m = self.minutes

        # Times of each step, before deciding how far the case got.
        triaged = received + m(3, 50)
        assigned = triaged + m(5, 150)
        responded = received + (timedelta(0) if channel in (ChannelKind.HOTLINE,
                                                            ChannelKind.WALK_IN)
                                else m(10, policy.response_minutes * 1.25))
        started = max(assigned, responded) + m(1, 30)
        resolved = received + m(policy.solution_minutes * 0.2, policy.solution_minutes * 1.1)
        resolved = max(resolved, started + m(10, 120))
        fed_back = resolved + m(30, 1440 * 1.1)
        revisit_due = fed_back + timedelta(minutes=policy.revisit_minutes)
        answered = revisit_due + m(10, 1300)
        steps = [(Stage.TRIAGED, triaged), (Stage.ASSIGNED, assigned),
                 (Stage.IN_PROGRESS, started), (Stage.RESOLVED, resolved),
                 (Stage.FEEDBACK_GIVEN, fed_back), (Stage.REVISIT, revisit_due),
                 (Stage.CLOSED, answered)]
        stall = len(steps) if rng.random() < 0.85 else rng.randint(0, len(steps) - 1)
        reached = [s for s in steps[:stall] if s[1] <= now]
        stage = reached[-1][0] if reached else Stage.RECEIVED
        satisfied = rng.random() < 0.88
        score = rng.choice([4, 5, 5]) if satisfied else rng.choice([1, 2, 3])
        if stage == Stage.CLOSED and not satisfied:
            stage = Stage.FOLLOW_UP
        if stage == Stage.IN_PROGRESS and difficulty == Difficulty.CROSS_DEPARTMENT and (
                rng.random() < 0.3):
            stage = Stage.WAITING_DEPARTMENT
        invalid = rng.random() < 0.03
        if invalid:
            stage = Stage.INVALID
        at = dict(steps)
        past = lambda s: stage not in (Stage.RECEIVED, Stage.INVALID) and (  # noqa: E731
            [x[0] for x in steps].index(s) < len(reached))
        handler = staff["supervisor"] if tier == Tier.URGENT else (
            staff["senior"] if tier == Tier.IMPORTANT else agent)
        description = rng.choice(DESCRIPTIONS)
        case = Case(
            pk=pk, reference=f"TS-{timezone.localtime(received).year}-{pk:06d}",
            tracking_code=f"{rng.getrandbits(50):010X}"[:10], customer_id=customer_id,
            channel=channel, received_at=received,
            occurred_at=received - m(60, 4 * 1440), category=category,
            subject=en if english else zh,
            description=(f"{en}. {description}" if english else f"{zh}。{description}"),
            order_ref=f"SO-{rng.randint(10000, 99999)}" if rng.random() < 0.7 else "",
            urgency=urgency, scope=scope, difficulty=difficulty, suggested_tier=suggested,
            tier=tier if stage != Stage.RECEIVED and not (invalid and rng.random() < 0.5)
            else Tier.UNTRIAGED,
            stage=stage, retiered=retiered and stage != Stage.RECEIVED,
            owner=agent if (agent_logged or stage != Stage.RECEIVED) else None,
            department=rng.choice(depts) if difficulty == Difficulty.CROSS_DEPARTMENT else None,
        )
        if case.tier == Tier.UNTRIAGED:
            case.retiered = False
        p = self.policies[case.tier or suggested]
        case.assign_due_at = received + timedelta(minutes=p.assign_minutes)
        case.response_due_at = received + timedelta(minutes=p.response_minutes)
        case.solution_due_at = received + timedelta(minutes=p.solution_minutes)
        if responded <= now and (past(Stage.TRIAGED) or agent_logged):
            case.first_responded_at = responded
        if past(Stage.ASSIGNED):
            case.handler, case.assigned_at = handler, assigned
            case.progress_due_at = assigned + timedelta(minutes=p.progress_minutes)
        if past(Stage.RESOLVED):
            case.resolved_at = resolved
            case.solution = (
                "Verified; replacement sent." if english else "已核实情况，补发商品并致歉。"
            )
            case.root_cause = rng.choice(root_causes)
            case.feedback_due_at = resolved + timedelta(minutes=p.feedback_minutes)
            case.last_progress_at = resolved - m(30, 600)
        if past(Stage.FEEDBACK_GIVEN):
            case.feedback_given_at = fed_back
            case.feedback_message = "已为您补发商品，并赠送优惠券表示歉意。"
            case.preventive_measures = "加强出库检查，更换物流服务商。"
            case.revisit_due_at = revisit_due
        if stage in (Stage.CLOSED, Stage.FOLLOW_UP):
            case.revisit_done_at, case.satisfaction_score = answered, score
            case.satisfied = score >= 4
            if stage == Stage.FOLLOW_UP:
                case.follow_up_due_at = answered + timedelta(minutes=p.follow_up_minutes)
            else:
                case.closed_at = answered
        if invalid:
            case.closed_at = received + m(30, 600)
            case.closing_reason = "客户撤回投诉 / withdrawn by the customer"
        case.response_breached = bool(
            (case.first_responded_at or now) > case.response_due_at
            and stage != Stage.INVALID)

        deadlines = self._deadlines(case, p, now)
        transitions, notes, comps, revisits, requests = [], [], [], [], []
        if self.rich:
            transitions, notes, comps, revisits = self._history(case, at, stage, staff, score)
            requests = self._requests(case, at, p, staff)
        return case, deadlines, transitions, notes, comps, revisits, requests

    rich = True

    def _deadlines(self, case: Case, p: SlaPolicy, now: datetime) -> list[CaseDeadline]:
        """Open supervision clocks for the case's stage, with their state as of now."""
        open_clocks: list[tuple[str, datetime, datetime]] = []
        if case.stage in (Stage.RECEIVED, Stage.TRIAGED):
            open_clocks.append((Clock.ASSIGN, case.received_at, case.assign_due_at))
        if case.stage in (Stage.RECEIVED, Stage.TRIAGED, Stage.ASSIGNED, Stage.IN_PROGRESS,
                          Stage.WAITING_DEPARTMENT):
            open_clocks.append((Clock.SOLUTION, case.received_at, case.solution_due_at))
            if case.first_responded_at is None:
                open_clocks.append((Clock.RESPONSE, case.received_at, case.response_due_at))
            if case.assigned_at:
                open_clocks.append((Clock.PROGRESS, case.assigned_at, case.progress_due_at))
        if case.stage == Stage.RESOLVED:
            open_clocks.append((Clock.FEEDBACK, case.resolved_at, case.feedback_due_at))
        if case.stage in (Stage.FEEDBACK_GIVEN, Stage.REVISIT):
            open_clocks.append((Clock.REVISIT, case.feedback_given_at,
                                case.revisit_due_at + REVISIT_ANSWER_WINDOW))
        if case.stage == Stage.FOLLOW_UP:
            open_clocks.append((Clock.FOLLOW_UP, case.revisit_done_at, case.follow_up_due_at))
        rows = []
        worst = SlaState.ON_TIME
        for clock, start, due in open_clocks:
            risk = start + (due - start) * float(p.at_risk_ratio)
            state = (SlaState.BREACHED if now >= due else
                     SlaState.AT_RISK if now >= risk else SlaState.ON_TIME)
            if state == SlaState.BREACHED or (state == SlaState.AT_RISK and
                                              worst == SlaState.ON_TIME):
                worst = state
            rows.append(CaseDeadline(case_id=case.pk, clock=clock, started_at=start,
                                     risk_at=risk, due_at=due, state=state,
                                     breached_at=due if state == SlaState.BREACHED else None))
        case.next_due_at = min((r.due_at for r in rows), default=None)
        case.next_risk_at = min((r.risk_at for r in rows), default=None)
        case.sla_state = worst
        late = [
            (case.assigned_at, case.assign_due_at), (case.resolved_at, case.solution_due_at),
            (case.feedback_given_at, case.feedback_due_at),
        ]
        case.ever_breached = worst == SlaState.BREACHED or case.response_breached or any(
            done and due and done > due for done, due in late)
        return rows

    def _requests(self, case: Case, at: dict, p: SlaPolicy, staff: dict[str, User],
                  ) -> list[tuple[CollaborationRequest, CaseDeadline | None]]:
        """A collaboration request for a cross-department case that got to handling, in the
        state its stage implies: open or answered while the case waits on the department,
        accepted while it is handled, done once it is resolved. Open ones get their running
        department clock (the board shows it), and the case's next due time includes it."""
        dept = case.department
        if dept is None or case.stage in (Stage.RECEIVED, Stage.TRIAGED, Stage.ASSIGNED,
                                          Stage.INVALID):
            return []
        rng, now, m = self.rng, self.now, self.minutes
        started = at[Stage.IN_PROGRESS]
        created = started + m(10, 180)
        if case.resolved_at:
            created = min(created, case.resolved_at - m(60, 120))
        if created > now:
            if case.stage != Stage.WAITING_DEPARTMENT:
                return []
            created = started + (now - started) / 2  # a waiting case always has its request
        allowed = timedelta(minutes=p.department_minutes)
        answered = created + m(20, p.department_minutes * 1.3)
        if case.resolved_at:
            answered = min(answered, created + (case.resolved_at - created) * 0.6)
        status = RequestStatus.DONE if case.resolved_at else RequestStatus.ACCEPTED
        if case.stage == Stage.WAITING_DEPARTMENT:
            status = RequestStatus.ANSWERED if answered <= now and rng.random() < 0.4 else (
                RequestStatus.OPEN)
        answered_at = answered if status != RequestStatus.OPEN else None
        accepted = (answered + m(5, 90)) if status in (RequestStatus.ACCEPTED,
                                                       RequestStatus.DONE) else None
        if accepted and case.resolved_at:
            accepted = min(accepted, case.resolved_at)
        requester = case.handler or case.owner or staff["supervisor"]
        request = CollaborationRequest(
            case_id=case.pk, department=dept, requested_by=requester,
            ask=rng.choice(["请核实物流轨迹并给出补发方案。", "请确认退款进度并回复处理方案。",
                            "请检测退回商品并说明质量问题原因。", "请核对账单并说明多收费用。"]),
            status=status, created_at=created, due_at=created + allowed,
            plan="已核实，安排补发并承担运费。" if answered_at else "",
            answered_by=dept.liaison if answered_at else None, answered_at=answered_at,
            accepted_at=accepted, accepted_by=requester if accepted else None,
            closing_note="已完成。" if status == RequestStatus.DONE else "",
            closed_by=requester if status == RequestStatus.DONE else None,
            closed_at=(case.resolved_at if status == RequestStatus.DONE else None),
        )
        clock = None
        if status == RequestStatus.OPEN:
            risk = created + allowed * float(p.at_risk_ratio)
            state = (SlaState.BREACHED if now >= request.due_at else
                     SlaState.AT_RISK if now >= risk else SlaState.ON_TIME)
            clock = CaseDeadline(case_id=case.pk, clock=Clock.DEPARTMENT, started_at=created,
                                 risk_at=risk, due_at=request.due_at, state=state,
                                 breached_at=request.due_at if state == SlaState.BREACHED
                                 else None)
            case.next_due_at = min(filter(None, [case.next_due_at, request.due_at]))
            case.next_risk_at = min(filter(None, [case.next_risk_at, risk]))
            if state == SlaState.BREACHED or (state == SlaState.AT_RISK
                                              and case.sla_state == SlaState.ON_TIME):
                case.sla_state = state
            case.ever_breached = case.ever_breached or state == SlaState.BREACHED
        return [(request, clock)]

    def _history(self, case: Case, at: dict, stage: str, staff: dict[str, User],
                 score: int) -> tuple[list, list, list, list]:
        rng = self.rng
        actor = case.owner
        boss = staff["supervisor"]
        transitions = [CaseTransition(case_id=case.pk, field="stage", name="receive", source="",
                                      target=Stage.RECEIVED, actor=actor,
                                      note=ChannelKind(case.channel).label,
                                      at=case.received_at)]
        notes: list[CaseNote] = []
        order = [Stage.RECEIVED, Stage.TRIAGED, Stage.ASSIGNED, Stage.IN_PROGRESS,
                 Stage.RESOLVED, Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.CLOSED]
        names = {Stage.TRIAGED: "triage", Stage.ASSIGNED: "assign", Stage.IN_PROGRESS: "start",
                 Stage.RESOLVED: "resolve", Stage.FEEDBACK_GIVEN: "give_feedback",
                 Stage.REVISIT: "open_revisit", Stage.CLOSED: "record_revisit"}
        final = stage
        if stage in (Stage.FOLLOW_UP,):
            final = Stage.CLOSED
        if stage == Stage.WAITING_DEPARTMENT:
            final = Stage.IN_PROGRESS
        if stage != Stage.INVALID:
            previous = Stage.RECEIVED
            for step in order[1: order.index(final) + 1]:
                target = step
                if step == Stage.CLOSED and stage == Stage.FOLLOW_UP:
                    target = Stage.FOLLOW_UP
                if step == Stage.TRIAGED:
                    transitions.append(CaseTransition(
                        case_id=case.pk, field="tier", name="confirm_tier", source="0",
                        target=str(case.suggested_tier if case.retiered else case.tier),
                        actor=actor, at=at[step]))
                transitions.append(CaseTransition(
                    case_id=case.pk, field="stage", name=names[step], source=previous,
                    target=target, actor=None if step == Stage.REVISIT else actor,
                    at=at[step]))
                previous = target
            if case.retiered:
                transitions.append(CaseTransition(
                    case_id=case.pk, field="tier", name="retier", source=str(case.suggested_tier),
                    target=str(case.tier), actor=boss, note="影响范围比初判更大 / wider impact",
                    at=at[Stage.TRIAGED] + timedelta(minutes=30)))
        else:
            transitions.append(CaseTransition(
                case_id=case.pk, field="stage", name="invalidate", source=Stage.RECEIVED,
                target=Stage.INVALID, actor=boss, note=case.closing_reason, at=case.closed_at))
        if case.first_responded_at:
            notes.append(CaseNote(case_id=case.pk, kind=NoteKind.CONTACT, author=actor,
                                  body="已致电客户，说明处理流程并致歉。",
                                  created_at=case.first_responded_at))
        if case.assigned_at and case.stage != Stage.ASSIGNED:
            notes.append(CaseNote(case_id=case.pk, kind=NoteKind.PROGRESS, author=case.handler,
                                  body="已联系相关部门核实，等待回复。", visible_to_customer=True,
                                  created_at=min(self.now, case.assigned_at + timedelta(hours=3))))
        comps: list[Compensation] = []
        if case.resolved_at and rng.random() < 0.35:
            amount = Decimal(rng.choice([20, 50, 100, 200, 800]))
            comps.append(Compensation(
                case_id=case.pk, kind=rng.choice(CompensationKind.values), amount=amount,
                description="致歉补偿", status=CompensationStatus.APPROVED,
                proposed_by=case.handler,
                decided_by=boss if amount > 500 else case.handler, created_at=case.resolved_at,
                decided_at=case.resolved_at))
        revisits: list[Revisit] = []
        if case.feedback_given_at:
            answered = case.revisit_done_at
            revisits.append(Revisit(
                case_id=case.pk, round=1, due_at=case.revisit_due_at,
                opened_at=case.revisit_due_at if stage != Stage.FEEDBACK_GIVEN else None,
                answered_at=answered, score=score if answered else None,
                method=(rng.choice(RevisitMethod.values) if answered else ""),
                answered_by=None))
        return transitions, notes, comps, revisits
