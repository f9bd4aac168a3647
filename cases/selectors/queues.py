"""The desk's queues: what each holds, who may open it, and the home page's counts.

Every queue is served by an index on PostgreSQL (the composite indexes on ``Case``), and the
home counts every queue the user sees in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, connections
from django.db.models import IntegerField, Q, QuerySet, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import (
    OPEN_STAGES,
    STATUTORY_CLOCKS,
    CompensationStatus,
    Role,
    SlaState,
    Stage,
    Tier,
)
from cases.models import Case, CaseDeadline, Compensation, User


@dataclass(frozen=True)
class Queue:
    """A named, reusable slice of the cases an agent works from.

    ``supervisors_only`` queues (the supervision queue 督办 and compensation approvals) answer
    403 to anyone else; their cases stay reachable through the ordinary filters.
    """

    name: str
    label: Promise
    help: Promise
    icon: str
    supervisors_only: bool = False


QUEUES: dict[str, Queue] = {
    q.name: q
    for q in (
        Queue("mine", _("My cases"),
              _("Open cases I own, handle, or am on the task force of."), "person-workspace"),
        Queue("replied", _("Customer replied"),
              _("Open cases of mine where the customer wrote and nobody has answered yet "
                "(supervisors: every such case)."), "chat-left-dots"),
        Queue("team", _("Unassigned / team queue"),
              _("Open cases nobody handles yet: received (to triage) or triaged (to assign)."),
              "people"),
        Queue("fast_lane", _("Fast lane (tier 1)"),
              _("Every open tier 1 urgent case."), "lightning-charge"),
        Queue("at_risk", _("At risk"),
              _("Open cases with a deadline past 75 % of its allowed time."),
              "hourglass-split", supervisors_only=True),
        Queue("breached", _("Breached"),
              _("Open cases with a deadline already missed: the supervision queue."),
              "exclamation-octagon", supervisors_only=True),
        Queue("statutory_at_risk", _("Statutory at risk"),
              _("Open cases whose statutory limit or acceptance decision is past 75 % of its "
                "time."), "bank", supervisors_only=True),
        Queue("statutory_breached", _("Statutory breached"),
              _("Open cases whose statutory limit or acceptance decision has passed."),
              "exclamation-diamond", supervisors_only=True),
        Queue("approvals", _("Compensation to approve"),
              _("Cases with a compensation above the threshold awaiting a supervisor."),
              "cash-coin", supervisors_only=True),
        Queue("waiting", _("Waiting on a department"),
              _("Cases waiting for another department's answer."), "diagram-3"),
        Queue("revisits", _("Revisits due"),
              _("Feedback given 48 hours ago or more: call the customer for the "
                "satisfaction revisit."), "telephone-outbound"),
        Queue("follow_ups", _("Follow-ups due"),
              _("Dissatisfied revisits needing a second follow-up."), "arrow-repeat"),
        Queue("reviews", _("Reviews requested"),
              _("Complainants asked for a review of the answer: supervisors assign or take "
                "them; a senior agent sees the reviews given to them."), "patch-question"),
        Queue("open", _("All open cases"), _("Every case not yet closed."), "inbox"),
        Queue("all", _("All cases"), _("Every case, closed ones included."), "archive"),
    )
}
# The queues the desk home shows, in order (``open`` and ``all`` are list views only).
HOME_QUEUES = ("mine", "replied", "team", "fast_lane", "at_risk", "breached", "statutory_at_risk",
               "statutory_breached", "approvals", "waiting", "revisits", "follow_ups",
               "reviews")


# The deadline state of a case is the worst state of its running clocks (CaseDeadline rows
# with no stop time; closing or invalidating a case stops them all). ``Case.sla_state`` is a
# copy that stays out of every index so the sweep's case updates are HOT (migration 0011):
# filtering on it read a table row per case. The desk reads the state from the case's
# earliest running due and at-risk times instead (``next_due_at``, ``next_risk_at``: set by
# cases.services.clocks with the clocks, never by the sweep, empty once every clock has
# stopped), which the open-case index carries (migration 0014): breached when the nearest
# due time has passed, at risk when the earliest at-risk time has and the due time has not.
# Exact -- the sweep only marks what these times already say -- and live between two sweeps.


def deadline_state_q(state: str, now: datetime) -> Q:
    """Cases by live deadline state: breached (a running clock past due), at risk (one past
    75 % of its time and none past due) or on time (neither; so is every case without a
    running clock). No stage test here: a second ``stage IN (...)`` next to the queue's own
    makes PostgreSQL square its row estimate and sort instead of walking the list's index."""
    if state == SlaState.BREACHED:
        return Q(next_due_at__lte=now)
    if state == SlaState.AT_RISK:
        return Q(next_due_at__gt=now, next_risk_at__lte=now)
    if state == SlaState.ON_TIME:
        return Q(next_due_at__isnull=True) | (
            Q(next_due_at__gt=now) & (Q(next_risk_at__isnull=True) | Q(next_risk_at__gt=now)))
    return Q()


def task_force_case_ids(user: User) -> list[int]:
    """Cases whose task force names ``user`` (small: tier 1 cases only). Read as a list so
    that the "my cases" filter is three index lookups OR-ed together, not a correlated join."""
    cached = getattr(user, "_desk_task_force_case_ids", None)
    if cached is not None:  # read once per request (the user object lives for one request)
        return cached
    through = Case.task_force.through
    ids = list(
        through.objects.filter(user_id=user.pk, case__stage__in=OPEN_STAGES)
        .values_list("case_id", flat=True)[:1000]
    )
    user._desk_task_force_case_ids = ids
    return ids


def queue_q(name: str, user: User, now: datetime | None = None) -> Q:
    """The filter of one queue. Raises KeyError for an unknown queue."""
    now = now or timezone.now()
    is_open = Q(stage__in=OPEN_STAGES)
    if name == "mine":
        mine = Q(owner_id=user.pk) | Q(handler_id=user.pk)
        tf_ids = task_force_case_ids(user)
        if tf_ids:
            mine |= Q(pk__in=tf_ids)
        return is_open & mine
    if name == "replied":  # served by case_awaiting_reply_idx (few rows wait at any time)
        replied = is_open & Q(awaiting_reply_since__isnull=False)
        return replied if perms.is_supervisor(user) else replied & queue_q("mine", user, now)
    if name == "team":
        return Q(stage__in=[Stage.RECEIVED, Stage.TRIAGED])
    if name == "fast_lane":
        return is_open & Q(tier=Tier.URGENT)
    if name == "at_risk":
        return is_open & deadline_state_q(SlaState.AT_RISK, now)
    if name == "breached":
        return is_open & deadline_state_q(SlaState.BREACHED, now)
    if name in ("statutory_at_risk", "statutory_breached"):
        return is_open & Q(pk__in=statutory_deadlines(name, now).values("case_id"))
    if name == "approvals":
        return Q(pk__in=Compensation.objects.filter(status=CompensationStatus.PROPOSED)
                 .values("case_id"))
    if name == "waiting":
        return Q(stage=Stage.WAITING_DEPARTMENT)
    if name == "revisits":
        return Q(stage=Stage.REVISIT) | Q(stage=Stage.FEEDBACK_GIVEN, revisit_due_at__lte=now)
    if name == "follow_ups":
        return Q(stage=Stage.FOLLOW_UP)
    if name == "reviews":  # supervisors: every review; senior agents: those given to them
        under_review = Q(stage=Stage.REVIEW)
        return under_review if perms.is_supervisor(user) else (
            under_review & Q(review__reviewer_id=user.pk))
    if name == "open":
        return is_open
    if name == "all":
        return Q()
    raise KeyError(name)


def statutory_deadlines(name: str, now: datetime) -> QuerySet:
    """The running statutory clocks of a statutory queue, live (as ``deadline_state_q``):
    breached when due, at risk when past 75 % and not yet due (``deadline_statutory_open_idx``)."""
    running = CaseDeadline.objects.filter(clock__in=STATUTORY_CLOCKS, stopped_at__isnull=True)
    if name == "statutory_breached":
        return running.filter(due_at__lte=now)
    return running.filter(due_at__gt=now, risk_at__lte=now)


def may_open_queue(user: User, name: str) -> bool:
    """May ``user`` open the queue called ``name``? (Unknown names are the filter form's to
    refuse.) Supervision queues are for supervisors."""
    queue = QUEUES.get(name)
    if name == "reviews":
        return perms.is_agent(user) and user.has_role(Role.SENIOR, Role.SUPERVISOR)
    return queue is None or not queue.supervisors_only or perms.is_supervisor(user)


def queues_for(user: User) -> list[Queue]:
    return [QUEUES[n] for n in HOME_QUEUES if may_open_queue(user, n)]


def _countable(qs: QuerySet) -> QuerySet:
    """``qs`` selecting a constant, for counting: no column has to be read, so PostgreSQL
    counts a bitmap scan without visiting the table pages it knows are all-visible."""
    return qs.order_by().annotate(_one=Value(1, output_field=IntegerField())).values("_one")


def capped_count(qs: QuerySet, cap: int) -> int:
    """COUNT that stops at ``cap + 1`` rows: ``SELECT COUNT(*) FROM (SELECT 1 ... LIMIT
    cap+1)``: a huge queue costs what ``cap`` rows cost. (Written out: Django's
    own ``count()`` drops the constant and leaves ``SELECT FROM``, which SQLite rejects.)"""
    sql, params = _capped_count_sql(qs, cap, "capped")
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return int(cursor.fetchone()[0])


def _capped_count_sql(qs: QuerySet, cap: int, alias: str) -> tuple[str, tuple]:
    """``(SELECT COUNT(*) FROM (SELECT 1 ... LIMIT cap+1) AS alias)`` and its params."""
    sql, params = _countable(qs)[: cap + 1].query.sql_with_params()
    return f"(SELECT COUNT(*) FROM ({sql}) AS {alias})", params


@dataclass
class QueueCount:
    queue: Queue
    count: int
    capped: bool


# Home counts are exact below this (every queue of open cases is far smaller at a million
# cases); the cap only bounds the cost of a pathological queue.
HOME_COUNT_CAP = 100_000


def _queue_count_parts(name: str, user: User, now: datetime) -> list[Q]:
    """The queue's filter as disjoint parts whose counts add up to the queue's count. A part
    is one index range, counted index-only; the OR of the whole would be a bitmap scan that
    reads a table page per row (the revisits queue), or a scan of every open case (my
    cases)."""
    is_open = Q(stage__in=OPEN_STAGES)
    if name == "revisits":  # disjoint by stage
        return [Q(stage=Stage.REVISIT), Q(stage=Stage.FEEDBACK_GIVEN, revisit_due_at__lte=now)]
    if name == "mine":
        owner, handler = Q(owner_id=user.pk), Q(handler_id=user.pk)
        parts = [is_open & owner, is_open & handler & ~owner]
        tf_ids = task_force_case_ids(user)
        if tf_ids:
            parts.append(is_open & Q(pk__in=tf_ids) & ~owner & ~handler)
        return parts
    return [queue_q(name, user, now)]


def desk_queue_counts(user: User, now: datetime | None = None) -> list[QueueCount]:
    """Exact counts (up to HOME_COUNT_CAP) of the queues ``user`` sees on the desk home, in
    ONE query: a scalar subquery per queue part (``SELECT (SELECT COUNT(*) FROM (SELECT 1
    ... LIMIT cap+1)) + ..., ...``), each served by its own index, so the home costs one round
    trip however many queues. The counts are of exactly what each queue's list shows."""
    now = now or timezone.now()
    queues = queues_for(user)
    columns, params = [], []
    for queue in queues:
        terms = []
        for part in _queue_count_parts(queue.name, user, now):
            sql, qparams = _capped_count_sql(Case.objects.filter(part), HOME_COUNT_CAP,
                                             f"q{len(params)}_{len(terms)}")
            terms.append(sql)
            params.extend(qparams)
        columns.append(" + ".join(terms))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return [QueueCount(queue, min(n, HOME_COUNT_CAP), n > HOME_COUNT_CAP)
            for queue, n in zip(queues, row, strict=True)]
