"""Demo and benchmark data: departments, one user per role, and cases simulated along the
process with consistent timestamps, bulk-inserted (a million cases take minutes)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import Promise

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
    Role,
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
from cases.services.clocks import REVISIT_ANSWER_WINDOW, policy_for
from cases.services.lifecycle import suggest_tier

DEMO_PASSWORD = "demo12345"

# (username, display name, role, department code)
DEMO_USERS = [
    ("agent", "李娜 (frontline)", Role.FRONTLINE, "cs"),
    ("agent2", "王强 (frontline)", Role.FRONTLINE, "cs"),
    ("senior", "张敏 (senior)", Role.SENIOR, "cs"),
    ("supervisor", "陈静 (supervisor)", Role.SUPERVISOR, "cs"),
    ("logistics", "赵磊 (logistics liaison)", Role.LIAISON, "logistics"),
    ("sales", "刘洋 (sales liaison)", Role.LIAISON, "sales"),
    ("product", "孙悦 (product liaison)", Role.LIAISON, "product"),
    ("billing", "周婷 (billing liaison)", Role.LIAISON, "billing"),
    ("ops", "运营管理员 (admin)", Role.ADMIN, None),
]

# (code, name, English name, parent code, manager username)
DEMO_DEPARTMENTS = [
    ("hq", "总经办", "General management", None, "supervisor"),
    ("cs", "客户服务中心", "Customer service", "hq", "supervisor"),
    ("operations", "运营中心", "Operations", "hq", "supervisor"),
    ("logistics", "物流部", "Logistics", "operations", "supervisor"),
    ("sales", "销售部", "Sales", "operations", "supervisor"),
    ("product-center", "产品中心", "Product centre", "hq", "supervisor"),
    ("product", "产品质量部", "Product quality", "product-center", "supervisor"),
    ("billing", "财务结算部", "Billing", "hq", "supervisor"),
]

SUBJECTS = {
    Category.PRODUCT_QUALITY: [
        ("电水壶使用两次后底座冒烟", "The kettle base smoked after two uses"),
        ("儿童座椅卡扣断裂", "Child seat buckle snapped"),
        ("新买的手机屏幕出现亮线", "New phone screen shows a bright line"),
    ],
    Category.AFTER_SALES: [
        ("维修三次仍未修好", "Repaired three times and still broken"),
        ("退货申请一周无人处理", "Return request ignored for a week"),
    ],
    Category.FALSE_ADVERTISING: [
        ("宣传的续航时间与实际严重不符", "Advertised battery life is far from real"),
        ("页面标注包邮，结算时收取运费", "Page said free shipping, checkout charged it"),
    ],
    Category.DELIVERY: [
        ("订单未按时送达", "Order not delivered on time"),
        ("快递显示已签收但未收到货", "Tracking says delivered but nothing arrived"),
        ("包裹破损，商品受损", "Parcel damaged, goods broken"),
    ],
    Category.BILLING: [
        ("重复扣款两次", "Charged twice for one order"),
        ("会员自动续费未经同意", "Membership renewed without consent"),
    ],
    Category.SERVICE_ATTITUDE: [
        ("门店店员态度恶劣", "Store clerk was rude"),
        ("客服电话中途挂断", "Hotline agent hung up mid-call"),
    ],
    Category.UNFULFILLED_PROMISE: [
        ("承诺的赠品一直未发放", "Promised gift never sent"),
        ("答应的退款至今未到账", "Promised refund never arrived"),
    ],
    Category.OTHER: [
        ("发票信息错误", "Wrong details on the invoice"),
        ("账户无法登录", "Cannot log in to my account"),
    ],
}
DESCRIPTIONS = [
    "客户来电表示非常不满，要求尽快给出处理方案。",
    "客户称已多次联系未果，希望公司重视。",
    "The customer says this is the second time it happened and wants a refund.",
    "客户提供了照片和订单截图，情绪较激动。",
    "Customer asked for a call back in the evening after 6 pm.",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["芳", "伟", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "超", "霞"]
ENGLISH = ["Emma Li", "James Wang", "Olivia Chen", "Lucas Zhang", "Mia Liu", "Noah Zhao"]

CHANNEL_WEIGHTS = [
    (ChannelKind.HOTLINE, 30), (ChannelKind.WEB, 18), (ChannelKind.APP, 16),
    (ChannelKind.WECHAT, 10), (ChannelKind.WEIBO, 4), (ChannelKind.EMAIL, 8),
    (ChannelKind.WALK_IN, 7), (ChannelKind.CALL_CENTRE, 5), (ChannelKind.LETTER, 2),
]


@dataclass
class SeedReport:
    users: int
    departments: int
    customers: int
    cases: int
    seconds: float


def seed_reference_data() -> dict[str, User]:
    """Departments and one user per role (idempotent)."""
    users: dict[str, User] = {}
    for username, display, role, _dept in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"display_name": display, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    departments: dict[str, Department] = {}
    for code, name, name_en, parent, manager in DEMO_DEPARTMENTS:
        dept, _ = Department.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "parent": departments.get(parent),
                      "manager": users.get(manager)},
        )
        departments[code] = dept
    for username, _display, role, dept_code in DEMO_USERS:
        if dept_code:
            User.objects.filter(pk=users[username].pk).update(department=departments[dept_code])
        if role == Role.LIAISON:
            Department.objects.filter(liaison=users[username]).exclude(code=dept_code).update(
                liaison=None)
            Department.objects.filter(code=dept_code).update(liaison=users[username])
    return users


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _customer(rng: random.Random, i: int) -> Customer:
    english = rng.random() < 0.2
    name = rng.choice(ENGLISH) if english else rng.choice(SURNAMES) + rng.choice(GIVEN)
    return Customer(
        name=name, phone=f"13{rng.randint(0, 9)}{i:08d}"[:11],
        email=f"customer{i}@example.com" if rng.random() < 0.7 else "",
        preferred_channel=rng.choice(ContactChannel.values),
        is_key_customer=rng.random() < 0.08, language="en" if english else "zh-hans",
    )


class _Sim:
    """Simulates one case's path; every time is derived from the previous one."""

    def __init__(self, rng: random.Random, now: datetime, days: int,
                 policies: dict[int, SlaPolicy]) -> None:
        self.rng, self.now, self.days, self.policies = rng, now, days, policies

    def minutes(self, lo: float, hi: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(lo, hi))

    def case(self, pk: int, customer_id: int, staff: dict[str, User], depts: list[Department],
             root_causes: list[RootCause]) -> tuple[Case, list, list, list, list, list]:
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


def _batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def seed_cases(count: int, *, seed: int = 7, days: int = 90, batch: int = 5000,
               rich: bool | None = None, progress=None) -> int:
    """Bulk-insert ``count`` simulated cases. Below 20,000 cases each gets its full history
    (transitions, notes, compensation, revisits); above, only the case and its open deadline
    rows, so a million cases fit in minutes."""
    rng = random.Random(seed)
    now = timezone.now()
    staff = seed_reference_data()
    depts = list(Department.objects.filter(liaison__isnull=False))
    root_causes = list(RootCause.objects.filter(is_active=True))
    policies = {t: policy_for(t) for t in (1, 2, 3)}
    sim = _Sim(rng, now, days, policies)
    sim.rich = count <= 20000 if rich is None else rich
    customers_needed = max(1, count // 3)
    first_customer = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
                      or 0) + 1
    for start, size in _batches(customers_needed, batch):
        customers = [_customer(rng, first_customer + start + i) for i in range(size)]
        for offset, customer in enumerate(customers):
            customer.pk = first_customer + start + offset
        bulk_insert(Customer, customers, batch)
    customer_ids = range(first_customer, first_customer + customers_needed)
    next_pk = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    created = 0
    for start, size in _batches(count, batch):
        with transaction.atomic():
            cases, deadlines, transitions, notes, comps, revisits = [], [], [], [], [], []
            requests: list[tuple[CollaborationRequest, CaseDeadline | None]] = []
            for i in range(size):
                c, d, t, n, cp, r, rq = sim.case(next_pk + start + i, rng.choice(customer_ids),
                                                 staff, depts, root_causes)
                cases.append(c)
                deadlines += d
                transitions += t
                notes += n
                comps += cp
                revisits += r
                requests += rq
            for model, rows in ((Case, cases), (CaseDeadline, deadlines),
                                (CaseTransition, transitions), (CaseNote, notes),
                                (Compensation, comps), (Revisit, revisits)):
                bulk_insert(model, rows, batch)
            # bulk_create gives the requests their keys, which their clocks refer to.
            CollaborationRequest.objects.bulk_create([r for r, _ in requests], batch_size=batch)
            for request, clock in requests:
                if clock is not None:
                    clock.request_id = request.pk
            bulk_insert(CaseDeadline, [c for _, c in requests if c is not None], batch)
        created += size
        if progress:
            progress(created)
    _reset_sequences()
    return created


def bulk_insert(model: type, objs: list, batch: int) -> None:
    """Insert model instances fast: COPY on PostgreSQL (several times quicker than INSERT for
    a million rows), bulk_create elsewhere. Primary keys left unset are filled by the
    database."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch)
        return
    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and getattr(objs[0], f.attname) is None)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            # pre_save fills auto_now(_add) fields as bulk_create would.
            copy.write_row([_plain(f.pre_save(obj, True)) for f in fields])


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Promise) else value


def _reset_sequences() -> None:
    """Explicit primary keys were inserted: move the database sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), [Case, Customer])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
