"""factory_boy factories. ``CaseFactory(stage=...)`` walks a case through the real services to
that stage, so clocks, logs and notices are as they would be in production."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from cases import services
from cases.choices import (
    Category,
    ChannelKind,
    ContactChannel,
    Difficulty,
    NoteKind,
    Role,
    Scope,
    SlaState,
    Stage,
    Tier,
    Urgency,
)
from cases.models import Case, Customer, Department, RootCause, SavedFilter, User
from channels.models import Channel

# The order of the main path; a factory stage is reached by walking it.
MAIN_PATH = [
    Stage.RECEIVED, Stage.TRIAGED, Stage.ASSIGNED, Stage.IN_PROGRESS, Stage.RESOLVED,
    Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.CLOSED,
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass12345")
    is_active = True

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == Role.ADMIN:
                self.is_staff = True
        if create:
            self.save()

    class Params:
        frontline = factory.Trait(role=Role.FRONTLINE)
        senior = factory.Trait(role=Role.SENIOR)
        supervisor = factory.Trait(role=Role.SUPERVISOR)
        liaison = factory.Trait(role=Role.LIAISON)


class SavedFilterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedFilter

    owner = factory.SubFactory(UserFactory, frontline=True)
    name = factory.Sequence(lambda n: f"Filter {n}")
    query = "queue=open&sort=due&tier=1"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"部门{n}")
    name_en = factory.Sequence(lambda n: f"Department {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    preferred_channel = ContactChannel.EMAIL


def channel(code: str = "web") -> Channel:
    return Channel.objects.get(code=code)


def root_cause() -> RootCause:
    return RootCause.objects.order_by("pk").first()


class CaseFactory(factory.Factory):
    """Builds through ``case_intake`` and the lifecycle services (not a model factory)."""

    class Meta:
        model = Case

    customer_name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    email = factory.Sequence(lambda n: f"c{n}@example.com")
    preferred_channel = ContactChannel.EMAIL
    channel_kind = ChannelKind.WEB
    category = Category.DELIVERY
    subject = factory.Sequence(lambda n: f"订单未按时送达 #{n}")
    description = "下单五天仍未收到货，客服电话无人接听。"
    order_ref = ""
    urgency = Urgency.ROUTINE
    scope = Scope.INDIVIDUAL
    difficulty = Difficulty.FRONTLINE
    tier = Tier.ROUTINE
    stage = Stage.RECEIVED
    actor = None  # the agent logging it (None: a public channel)
    handler = None
    key_customer = False
    compensation = None  # Decimal amount to propose before feedback
    complained_employee = None  # recusal 回避: the employee the complaint is about

    @classmethod
    def _create(cls, model_class: type, **kw: Any) -> Case:
        result = services.case_intake(
            actor=kw["actor"],
            data=services.IntakeData(
                customer=services.CustomerData(
                    name=kw["customer_name"], phone=kw["phone"], email=kw["email"],
                    preferred_channel=kw["preferred_channel"],
                    is_key_customer=kw["key_customer"],
                ),
                channel=kw["channel_kind"], category=kw["category"], subject=kw["subject"],
                description=kw["description"], order_ref=kw["order_ref"],
                urgency=kw["urgency"], scope=kw["scope"], difficulty=kw["difficulty"],
                complained_employee=kw["complained_employee"],
            ),
        )
        return advance(result.case, kw["stage"], tier=kw["tier"], handler=kw["handler"],
                       compensation=kw["compensation"])

    @classmethod
    def _build(cls, model_class: type, **kw: Any) -> Case:
        return cls._create(model_class, **kw)


def _boss() -> User:
    return UserFactory(username="factory-supervisor", role=Role.SUPERVISOR)


def advance(
    case: Case, stage: str, *, tier: int = Tier.ROUTINE, handler: User | None = None,
    compensation: Decimal | None = None,
) -> Case:
    """Walk ``case`` along the main path (or to a branch) with a supervisor as actor."""
    boss = _boss()
    target = stage
    branch = None
    if stage in (Stage.WAITING_DEPARTMENT,):
        target, branch = Stage.IN_PROGRESS, stage
    elif stage == Stage.FOLLOW_UP:
        target, branch = Stage.REVISIT, stage
    elif stage == Stage.INVALID:
        target, branch = Stage.RECEIVED, stage
    elif stage == Stage.REVIEW:
        target, branch = Stage.CLOSED, stage
    steps = MAIN_PATH[: MAIN_PATH.index(target) + 1]
    handler = handler or boss
    for step in steps[1:]:
        case.refresh_from_db()
        if step == Stage.TRIAGED:
            services.case_triage(actor=boss, case_id=case.pk, urgency=case.urgency,
                                 scope=case.scope, difficulty=case.difficulty, tier=tier)
        elif step == Stage.ASSIGNED:
            dept = DepartmentFactory(code="factory-dept") if tier == Tier.URGENT else None
            services.case_assign(actor=boss, case_id=case.pk, handler=handler, department=dept,
                                 task_force=[handler, boss] if tier == Tier.URGENT else None)
        elif step == Stage.IN_PROGRESS:
            services.case_start(actor=boss, case_id=case.pk,
                                contact_summary="已致电客户，说明处理流程。")
        elif step == Stage.RESOLVED:
            services.case_add_note(actor=boss, case_id=case.pk, body="联系物流核实。",
                                   kind=NoteKind.PROGRESS)
            if compensation is not None:
                services.compensation_propose(actor=boss, case_id=case.pk, kind="coupon",
                                              amount=compensation, description="优惠券")
            services.case_resolve(actor=boss, case_id=case.pk, solution="补发商品并道歉。",
                                  root_cause=root_cause())
        elif step == Stage.FEEDBACK_GIVEN:
            services.case_give_feedback(actor=boss, case_id=case.pk, message="已补发，明日送达。",
                                        preventive_measures="更换物流服务商。")
        elif step == Stage.REVISIT:
            from django.db import transaction

            from cases.services.transitions import lock_case, run_case_transition, save_case

            with transaction.atomic():
                locked = lock_case(case.pk)
                run_case_transition(locked, "open_revisit", None)
                save_case(locked)
        elif step == Stage.CLOSED:
            services.case_record_revisit(actor=boss, case_id=case.pk, score=5)
    if branch == Stage.WAITING_DEPARTMENT:
        services.case_wait_for_department(actor=boss, case_id=case.pk)
    elif branch == Stage.FOLLOW_UP:
        services.case_record_revisit(actor=boss, case_id=case.pk, score=2, comment="不满意")
    elif branch == Stage.INVALID:
        services.case_invalidate(actor=boss, case_id=case.pk, reason="客户撤回")
    elif branch == Stage.REVIEW:
        from cases.services.reviews import review_request

        review_request(case_id=case.pk, reason="补发仍未收到，要求核查。", via="track")
    case.refresh_from_db()
    return case


def set_clocks(case: Case, *, state: str = SlaState.ON_TIME, risk_in: timedelta | None = None,
               due_in: timedelta | None = None) -> None:
    """Put every running clock of ``case`` into ``state`` with its at-risk and due times
    ``risk_in``/``due_in`` from now (what the sweep would have left), and the case's
    denormalised nearest due time and state with them."""
    now = timezone.now()
    due = now + (due_in if due_in is not None else timedelta(days=1))
    risk = now + (risk_in if risk_in is not None else (due - now) * 3 / 4)
    case.deadlines.filter(stopped_at__isnull=True).update(state=state, risk_at=risk, due_at=due)
    sync_case_clocks(case)


def sync_case_clocks(case: Case) -> None:
    """Recompute the case's nearest due time and deadline state from its running clocks, as
    every service does after touching them."""
    from cases.services.clocks import refresh_case_sla

    refresh_case_sla(case)
    Case.objects.filter(pk=case.pk).update(sla_state=case.sla_state,
                                           next_due_at=case.next_due_at,
                                           next_risk_at=case.next_risk_at)
