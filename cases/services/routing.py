"""Automatic routing: which agent a just-triaged case goes to.

``route_pick`` finds the case's rule (the most specific active rule for its tier and
category, then the lowest order), its pool (active agents of the rule's role, department
and skill; not away; inside their department calendar's working hours where the department
has a calendar; never the employee the complaint is about) and picks by the rule's method:
least loaded (load: open cases handled, weighted by tier) or round robin, skipping anyone at
the rule's maximum load. ``cases.services.lifecycle.case_triage`` assigns the pick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case as CaseWhen
from django.db.models import IntegerField, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import OPEN_STAGES, Role, Tier
from cases.models import AgentProfile, Case, Department, RoutingMethod, RoutingRule, User
from cases.services.locks import hold_transaction_locks
from cases.services.recusal import is_recused
from cases.worktime import CalendarDataMissing, NoWorkingCalendar, schedule_for

AGENT_ROLES = (Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR)


@dataclass(frozen=True)
class RouteOutcome:
    """The pick (``agent`` set) or why there is none (``agent`` None); ``note`` goes to the
    timeline either way."""

    rule: RoutingRule
    agent: User | None
    note: str
    department: Department | None = None


def rule_for(case: Case) -> RoutingRule | None:
    """The most specific active rule matching the case's tier and category. One query."""
    rules = RoutingRule.objects.filter(
        Q(tier=0) | Q(tier=case.tier), Q(category="") | Q(category=case.category), active=True,
    ).select_related("pool_department")
    ranked = sorted(rules, key=lambda r: (-(2 * bool(r.tier) + bool(r.category)), r.order, r.pk))
    return ranked[0] if ranked else None


def pool_for(rule: RoutingRule, case: Case) -> list[User]:
    """The rule's candidates before load: active agents of its role, department and skill,
    of a rank that may handle the case's tier, not away, within working hours, not recused."""
    roles = [rule.pool_role] if rule.pool_role else list(AGENT_ROLES)
    if case.tier == Tier.IMPORTANT:  # tier 2 needs a senior handler
        roles = [r for r in roles if r in (Role.SENIOR, Role.SUPERVISOR)]
    users = User.objects.filter(is_active=True, groups__name__in=roles).exclude(
        routing_profile__away=True).select_related("department__calendar").distinct()
    if rule.pool_department_id:
        users = users.filter(department_id=rule.pool_department_id)
    if rule.require_skill:
        skilled = [p.user_id for p in AgentProfile.objects.only("user_id", "skills")
                   if case.category in (p.skills or [])]
        users = users.filter(pk__in=skilled)
    now = timezone.now()
    return [u for u in users.order_by("pk") if not is_recused(case, u) and _working(u, now)]


def _working(user: User, now: timezone.datetime) -> bool:
    """Inside the working hours of the agent's department calendar (no calendar: always)."""
    department = user.department
    if department is None or department.calendar_id is None:
        return True
    try:
        schedule = schedule_for(department.calendar)
        return schedule.working_minutes_between(now, now + timedelta(minutes=1)) > 0
    except (CalendarDataMissing, NoWorkingCalendar):
        return True  # a calendar without data for this year does not strand the case
    except ValueError:  # a calendar with no working hours at all
        return False


def loads(rule: RoutingRule, agent_ids: list[int]) -> dict[int, int]:
    """Each agent's load: their open handled cases weighted by the rule's tier weights.
    One query."""
    weight = CaseWhen(*[When(tier=t, then=Value(w)) for t, w in rule.weights().items()],
                   default=Value(1), output_field=IntegerField())
    rows = (Case.objects.filter(handler_id__in=agent_ids, stage__in=OPEN_STAGES)
            .values("handler_id").annotate(load=Sum(weight)).order_by())
    found = {row["handler_id"]: row["load"] for row in rows}
    return {pk: found.get(pk, 0) for pk in agent_ids}


def route_pick(case: Case) -> RouteOutcome | None:
    """The agent the rule gives ``case`` to, or why nobody (None: no rule matches).

    Precondition: inside the triage's transaction holding the case's row lock. Holds a
    transaction lock per pool agent (PostgreSQL), and the rule's row for round robin, so two
    triages at once never both count the same agent below the maximum load."""
    rule = rule_for(case)
    if rule is None:
        return None
    department = rule.pool_department or case.department
    if case.tier == Tier.URGENT and department is None:
        return RouteOutcome(rule, None, _("Not routed (rule “%(rule)s”): a tier 1 case needs "
                                          "the business department; assign it by hand.")
                            % {"rule": rule.name})
    pool = pool_for(rule, case)
    if not pool:
        return RouteOutcome(rule, None, _("Not routed (rule “%(rule)s”): no agent of the pool "
                                          "is available (away, off hours or recused).")
                            % {"rule": rule.name})
    hold_transaction_locks([f"routing-agent:{u.pk}" for u in pool])
    load = loads(rule, [u.pk for u in pool])
    free = [u for u in pool if load[u.pk] < rule.max_load]
    if not free:
        return RouteOutcome(rule, None, _("Not routed (rule “%(rule)s”): every available "
                                          "agent is at the maximum load (%(max)d).")
                            % {"rule": rule.name, "max": rule.max_load})
    if rule.method == RoutingMethod.ROUND_ROBIN:
        locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        after = [u for u in free if u.pk > (locked.last_agent_id or 0)]
        agent = (after or free)[0]
        RoutingRule.objects.filter(pk=rule.pk).update(last_agent=agent)
        how = _("round robin")
    else:
        agent = min(free, key=lambda u: (load[u.pk], u.pk))
        how = _("least loaded")
    note = _("Routed by rule “%(rule)s”, %(how)s: %(name)s had a load of %(load)d (open "
             "cases weighted by tier).") % {
        "rule": rule.name, "how": how, "name": agent, "load": load[agent.pk]}
    return RouteOutcome(rule, agent, note, department if case.tier == Tier.URGENT else None)


def agent_set_away(*, actor: User, away: bool) -> AgentProfile:
    """Mark ``actor`` away (no routed cases) or back. Audited (the profile is)."""
    profile, _created = AgentProfile.objects.get_or_create(user=actor)
    if profile.away != away:
        profile.away = away
        profile.away_since = timezone.now() if away else None
        profile.save(update_fields=["away", "away_since"])
    return profile
