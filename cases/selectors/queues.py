"""Read queries for the agent desk and the case workspace (others may add their own below).

Every function here returns data for one page in a constant number of queries, whatever the
number of rows shown, and every filter and sort it offers is backed by an index on PostgreSQL
(the composite indexes on ``Case`` plus the ones in migration ``desk_search_indexes``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, connections
from django.db.models import BooleanField, F, IntegerField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import (
    OPEN_STAGES,
    CompensationStatus,
    NoteKind,
    Role,
    SlaState,
    Stage,
    Tier,
)
from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Customer,
    Notice,
    Revisit,
    SavedFilter,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.services.collaboration import TIMELINE_FIELD as REQUEST_FIELD

# --- queues ----------------------------------------------------------------------------------


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
        Queue("open", _("All open cases"), _("Every case not yet closed."), "inbox"),
        Queue("all", _("All cases"), _("Every case, closed ones included."), "archive"),
    )
}
# The queues the desk home shows, in order (``open`` and ``all`` are list views only).
HOME_QUEUES = ("mine", "team", "fast_lane", "at_risk", "breached", "approvals", "waiting",
               "revisits", "follow_ups")


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
    if name == "team":
        return Q(stage__in=[Stage.RECEIVED, Stage.TRIAGED])
    if name == "fast_lane":
        return is_open & Q(tier=Tier.URGENT)
    if name == "at_risk":
        return is_open & deadline_state_q(SlaState.AT_RISK, now)
    if name == "breached":
        return is_open & deadline_state_q(SlaState.BREACHED, now)
    if name == "approvals":
        return Q(pk__in=Compensation.objects.filter(status=CompensationStatus.PROPOSED)
                 .values("case_id"))
    if name == "waiting":
        return Q(stage=Stage.WAITING_DEPARTMENT)
    if name == "revisits":
        return Q(stage=Stage.REVISIT) | Q(stage=Stage.FEEDBACK_GIVEN, revisit_due_at__lte=now)
    if name == "follow_ups":
        return Q(stage=Stage.FOLLOW_UP)
    if name == "open":
        return is_open
    if name == "all":
        return Q()
    raise KeyError(name)


def may_open_queue(user: User, name: str) -> bool:
    """May ``user`` open the queue called ``name``? (Unknown names are the filter form's to
    refuse.) Supervision queues are for supervisors."""
    queue = QUEUES.get(name)
    return queue is None or not queue.supervisors_only or perms.is_supervisor(user)


def queues_for(user: User) -> list[Queue]:
    return [QUEUES[n] for n in HOME_QUEUES if may_open_queue(user, n)]


def _countable(qs: QuerySet) -> QuerySet:
    """``qs`` selecting a constant, for counting: no column has to be read, so PostgreSQL
    counts a bitmap scan without visiting the table pages it knows are all-visible (the
    revisits queue, an OR of two indexes: 39 ms selecting ids, 1.7 ms this way)."""
    return qs.order_by().annotate(_one=Value(1, output_field=IntegerField())).values("_one")


def capped_count(qs: QuerySet, cap: int) -> int:
    """COUNT that stops at ``cap + 1`` rows: ``SELECT COUNT(*) FROM (SELECT 1 ... LIMIT
    cap+1)``. A queue of a million rows costs what ``cap`` rows cost. (Written out: Django's
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
    reads a table page per row (the revisits queue: 50 ms cold, against 2 ms for its two
    parts), or a scan of every open case (my cases: 8 ms, against 1 ms)."""
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


# --- lists -----------------------------------------------------------------------------------

# Sort keys offered by the list (all index-backed on PostgreSQL; see desk_search_indexes).
SORTS: dict[str, tuple[Promise, list[Any]]] = {
    "due": (_("Nearest due first"), [F("next_due_at").asc(nulls_last=True), "id"]),
    "-received": (_("Newest first"), ["-received_at", "-id"]),
    "received": (_("Oldest first"), ["received_at", "id"]),
    "tier": (_("Tier, then nearest due"), ["tier", F("next_due_at").asc(nulls_last=True), "id"]),
    "-updated": (_("Recently updated"), ["-updated_at", "-id"]),
}
DEFAULT_SORT = "due"


def case_list_for_desk(user: User) -> QuerySet[Case]:
    """The base queryset of the desk's case list: what ``user`` may see, with what a row shows
    joined in (customer, owner, handler, department) so a page is one query."""
    return (
        Case.objects.for_user(user)
        .select_related("customer", "owner", "handler", "department")
        # The long texts are not shown in a list row.
        .defer("description", "solution", "feedback_message", "preventive_measures",
               "desired_outcome", "closing_reason")
    )


class PagedCases(Sequence):
    """A sorted, filtered case list as the paginator's sequence, read in two steps: the ids of
    the page (``SELECT id ... ORDER BY ... LIMIT/OFFSET``: an index-only scan of the list's
    sort index, whatever the filters), then those rows with what a row shows joined in, by
    primary key. One query more than a single SELECT, but its plan does not depend on
    PostgreSQL's row estimate: with the wide joined SELECT a misestimated filter (the
    deadline states' correlated columns: 74 rows expected, 24,000 found) made it join and
    sort every match -- over a second for page 10 of the at-risk queue; this way, 1 ms."""

    ordered = True  # for the paginator's check (the order is the sorted queryset's)

    def __init__(self, sorted_qs: QuerySet[Case], base: QuerySet[Case]) -> None:
        self.sorted_qs = sorted_qs
        self.base = base

    def count_at_most(self, cap: int) -> int:
        return capped_count(self.sorted_qs, cap)

    def __len__(self) -> int:  # the paginator asks ``count_at_most``; this is a fallback
        return self.sorted_qs.count()

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        return rows_in_order(self.base, list(self.sorted_qs.values_list("pk", flat=True)[index]))


def rows_in_order(base: QuerySet, ids: list[int]) -> list:
    """The rows of ``base`` with these ids, in the order of ``ids`` (a page's ids were found
    by an index-only read; its rows are then read by primary key)."""
    if not ids:
        return []
    by_id = {row.pk: row for row in base.filter(pk__in=ids).order_by()}
    return [by_id[pk] for pk in ids if pk in by_id]


def label_rows(cases: list[Case]) -> list[Case]:
    """Give each listed case its tier, stage, channel and category labels, read from one dict
    per field (``get_FOO_display`` rebuilds a choices dict on every call, 100 times a page)."""
    maps = {
        name: {value: str(label) for value, label in Case._meta.get_field(name).flatchoices}
        for name in ("tier", "stage", "channel", "category")
    }
    for case in cases:
        for name, labels in maps.items():
            value = getattr(case, name)
            setattr(case, f"{name}_label", labels.get(value, value))
    return cases


REFERENCE_RE = re.compile(r"^TS-\d{4}-\d{6,}$", re.IGNORECASE)
CUSTOMER_MATCH_CAP = 1000
# Searches keep at most this many matching cases (then sorted and paged); past it the list
# asks for a narrower search. This keeps every search an index lookup that stops early.
SEARCH_CAP = 1000
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
NON_CJK_WORD = re.compile(r"[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# The stored bigram vector of subject and description (migration 0008_desk_cjk_search).
CJK_FTS_SQL = "\"cases_case\".\"desk_fts\" @@ to_tsquery('simple', %s)"


def cjk_tsquery(text: str) -> str:
    """The bigram phrase query of the CJK runs in ``text`` ('' when it has none of two or
    more characters): 未按时 -> (未按 <-> 按时); two runs are AND-ed."""
    phrases = []
    for run in CJK_RUN.findall(text):
        if len(run) >= 2:
            phrases.append(" <-> ".join(run[i:i + 2] for i in range(len(run) - 1)))
    return " & ".join(f"({p})" for p in phrases)


def _contains_or_prefix(field: str, text: str) -> Q:
    # Trigrams serve "contains" from three characters on; a shorter query is a prefix
    # (pg_trgm pads the start of a word, so a two-character prefix is indexed too).
    lookup = "icontains" if len(text) >= 3 else "istartswith"
    return Q(**{f"{field}__{lookup}": text})


def _text_q(text: str) -> Q:
    """Subject and description. On PostgreSQL: Chinese through the bigram full-text index,
    other words of three or more characters through the trigram indexes, all AND-ed."""
    parts: list[Q] = []
    if connection.vendor != "postgresql":  # every word, anywhere (fine at SQLite's scale)
        for word in text.split():
            parts.append(Q(subject__icontains=word) | Q(description__icontains=word))
        return _all(parts)
    tsquery = cjk_tsquery(text)
    if tsquery:
        parts.append(Q(RawSQL(CJK_FTS_SQL, [tsquery], output_field=BooleanField())))
    for word in NON_CJK_WORD.findall(text):
        if len(word) >= 3:
            parts.append(Q(subject__icontains=word) | Q(description__icontains=word))
    return _all(parts)


def _all(parts: list[Q]) -> Q:
    if not parts:
        return Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined &= part
    return combined


def search_q(text: str) -> Q:
    """Text search over reference, subject, description and customer name/phone/email.

    PostgreSQL: reference and customer fields by trigram index (``UPPER(col) LIKE``), subject
    and description by the CJK bigram full-text index or trigrams (see ``_text_q``); matching
    customers are read first as a capped list of ids so the case query is a BitmapOr of index
    scans, not a join. SQLite: plain ``icontains`` (fine at its scale)."""
    text = " ".join(text.split())[:200]
    if not text:
        return Q()
    if REFERENCE_RE.match(text):
        return Q(reference=text.upper())
    customer_ids = list(
        Customer.objects.filter(
            _contains_or_prefix("name", text) | _contains_or_prefix("phone", text)
            | _contains_or_prefix("email", text)
        ).order_by().values_list("pk", flat=True)[:CUSTOMER_MATCH_CAP]
    )
    q = _contains_or_prefix("reference", text) | _text_q(text)
    if customer_ids:
        q |= Q(customer_id__in=customer_ids)
    return q


def case_by_reference(user: User, reference: str) -> Case | None:
    return Case.objects.for_user(user).filter(reference=reference.strip().upper()).first()


def agents() -> QuerySet[User]:
    """Active agents (frontline, senior, supervisors) for owner/handler choices."""
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR]
        )
        .distinct()
        .order_by("display_name", "username")
    )


# --- workspace -------------------------------------------------------------------------------


def case_for_workspace(user: User, pk: int) -> Case:
    """One case as ``user`` may see it, with everything the header and permission checks
    read. Raises Case.DoesNotExist when it is not visible (the view answers 404)."""
    return (
        Case.objects.for_user(user)
        .select_related("customer", "owner", "handler", "department", "root_cause", "group",
                        "duplicate_of", "source")
        .prefetch_related("task_force")
        .get(pk=pk)
    )


def case_for_action(user: User, pk: int) -> Case:
    """A case for an action page: enough for the permission predicates (owner, handler,
    task force, tier, stage) and the form's header."""
    return (
        Case.objects.for_user(user)
        .select_related("customer", "owner", "handler", "department")
        .prefetch_related("task_force")
        .get(pk=pk)
    )


def case_open_deadlines(case: Case, now: datetime | None = None) -> list[CaseDeadline]:
    """The running clocks, nearest first, each with ``live_state`` (on time / at risk /
    breached as of now, whether or not the sweep has run yet)."""
    from cases.services.clocks import live_state

    now = now or timezone.now()
    rows = list(case.deadlines.filter(stopped_at__isnull=True).order_by("due_at"))
    for row in rows:
        row.live_state = live_state(row, now)
    return rows


_EXTRA_TRANSITION_LABELS = {
    "receive": _("Received"),
}


def transition_label(name: str) -> str:
    from cases.transition_labels import TRANSITION_LABELS

    label = TRANSITION_LABELS.get(name) or _EXTRA_TRANSITION_LABELS.get(name)
    return str(label) if label else name.replace("_", " ")


def state_label(field_name: str, value: str) -> str:
    """A logged state value as a person reads it (stage, tier and department-request status
    names are translated)."""
    if value in ("", None):
        return "—"
    try:
        if field_name == "stage":
            return str(Stage(value).label)
        if field_name == "tier":
            return str(Tier(int(value)).label)
        if field_name == REQUEST_FIELD:
            return str(RequestStatus(value).label)
    except ValueError:
        pass
    return str(value)


def _request_for_row(
    row: CaseTransition, requests: list[CollaborationRequest]
) -> CollaborationRequest | None:
    """The department request a ``field="request"`` timeline row is about. The collaboration
    service writes the note as "<department>: <text>" (or just the department), and a case has
    at most one waiting request per department, so it is the latest request to that
    department created by the row's time."""
    found = None
    for req in requests:  # oldest first
        if req.created_at > row.at:
            break
        dept = str(req.department)
        if row.note == dept or row.note.startswith(f"{dept}: "):
            found = req
    return found


def _request_url(req: CollaborationRequest) -> str:
    return reverse("board:request", args=[req.pk])


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # transition / note / notice / collaboration / compensation / revisit
    obj: Any
    css: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _key(entry: TimelineEntry) -> tuple[datetime, int]:
    return entry.at, getattr(entry.obj, "pk", 0) or 0


@dataclass
class Workspace:
    """Everything the case page shows, read in a fixed number of queries."""

    case: Case
    deadlines: list[CaseDeadline]
    timeline: list[TimelineEntry]
    compensations: list[Compensation]
    requests: list[CollaborationRequest]
    revisits: list[Revisit]
    other_cases: list[Case]
    other_cases_more: bool
    attachments: list[Any]


OTHER_CASES_SHOWN = 10


def case_workspace(
    case: Case, *, requests: list[CollaborationRequest] | None = None
) -> Workspace:
    """The timeline (transitions, notes, customer messages, notices, collaboration,
    compensation, revisits, in time order), the customer's other cases and open clocks.

    ``requests``: the case's department requests when the caller already read them (with
    their department), to save a query.

    Department requests appear through their ``field="request"`` transition rows (the record),
    each linked to its request page; a request without a ``request_help`` row (written before
    the board logged its steps) still shows as a ``collaboration`` entry."""
    transitions = list(
        CaseTransition.objects.filter(case=case).select_related("actor").order_by("at", "id")
    )
    notes = list(CaseNote.objects.filter(case=case).select_related("author"))
    notices = list(Notice.objects.filter(case=case).defer("context").order_by("created_at"))
    if requests is None:
        requests = list(
            CollaborationRequest.objects.filter(case=case)
            .select_related("department", "requested_by")
            .order_by("created_at", "id")
        )
    else:
        requests = sorted(requests, key=lambda r: (r.created_at, r.pk))
    compensations = list(
        Compensation.objects.filter(case=case).select_related("proposed_by", "decided_by")
    )
    revisits = list(Revisit.objects.filter(case=case).select_related("answered_by"))
    timeline: list[TimelineEntry] = []
    logged_requests: set[int] = set()
    for t in transitions:
        extra = {
            "label": transition_label(t.name),
            "source": state_label(t.field, t.source),
            "target": state_label(t.field, t.target),
        }
        if t.field == REQUEST_FIELD:
            req = _request_for_row(t, requests)
            if req is not None:
                extra["request"] = req
                extra["request_url"] = _request_url(req)
                if t.name == "request_help":
                    logged_requests.add(req.pk)
        timeline.append(TimelineEntry(t.at, "transition", t, "kind-transition", extra))
    for n in notes:
        css = "kind-customer" if n.kind in (NoteKind.CUSTOMER_MESSAGE, NoteKind.CONTACT) else ""
        timeline.append(TimelineEntry(n.created_at, "note", n, css))
    for notice in notices:
        timeline.append(TimelineEntry(notice.created_at, "notice", notice, "kind-customer"))
    for r in requests:
        if r.pk not in logged_requests:
            timeline.append(TimelineEntry(r.created_at, "collaboration", r, "",
                                          {"request_url": _request_url(r)}))
    for c in compensations:
        timeline.append(TimelineEntry(c.created_at, "compensation", c))
        if c.decided_at and c.decided_by_id and c.decided_by_id != c.proposed_by_id:
            timeline.append(TimelineEntry(c.decided_at, "compensation_decision", c))
    for rv in revisits:
        if rv.answered_at:
            timeline.append(TimelineEntry(rv.answered_at, "revisit", rv, "kind-customer"))
    timeline.sort(key=_key)
    others = list(
        Case.objects.filter(customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .only("id", "reference", "subject", "stage", "tier", "received_at", "customer_id")
        .order_by("-received_at", "-id")[: OTHER_CASES_SHOWN + 1]
    )
    return Workspace(
        case=case,
        deadlines=case_open_deadlines(case),
        timeline=timeline,
        compensations=compensations,
        requests=requests,
        revisits=revisits,
        other_cases=others[:OTHER_CASES_SHOWN],
        other_cases_more=len(others) > OTHER_CASES_SHOWN,
        attachments=list(case.attachments.all()),
    )


def pending_compensations(case: Case) -> list[Compensation]:
    return list(
        Compensation.objects.filter(case=case, status=CompensationStatus.PROPOSED)
        .select_related("proposed_by")
    )


def approved_compensations(case: Case) -> list[Compensation]:
    return list(Compensation.objects.filter(case=case, status=CompensationStatus.APPROVED))


# --- saved filters ---------------------------------------------------------------------------


def saved_filters_for(user: User) -> list[SavedFilter]:
    """The user's saved filters by name (at most MAX_SAVED_FILTERS rows: one query)."""
    return list(
        SavedFilter.objects.filter(owner_id=user.pk).only("id", "name", "query", "owner_id")
        .order_by("name", "id")
    )


def saved_filter_for(user: User, pk: int) -> SavedFilter:
    """One of the user's saved filters; SavedFilter.DoesNotExist for anybody else's."""
    return SavedFilter.objects.get(owner_id=user.pk, pk=pk)


# --- alerts ----------------------------------------------------------------------------------


def alerts_for(user: User, *, unread_only: bool = False) -> QuerySet[Alert]:
    qs = (
        Alert.objects.filter(recipient=user).select_related("case")
        .only("id", "kind", "message", "created_at", "read_at", "case__id", "case__reference",
              "recipient_id")
        .annotate(request_id=F("deadline__request_id"))
    )
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def alert_links(user: User, alerts: list[Alert]) -> list[Alert]:
    """Give each alert (read by ``alerts_for``) the ``url`` its case link opens: the case
    workspace for agents; for anyone else (a department liaison, a manager) the page of their
    department's request on that case -- or the board -- since the desk is 403 for them.
    At most one query, whatever the number of alerts."""
    if perms.is_agent(user):
        for alert in alerts:
            alert.url = reverse("desk:case", args=[alert.case_id]) if alert.case_id else ""
        return alerts
    from cases.selectors.board import requests_visible_to

    missing = {a.case_id for a in alerts if a.case_id and not a.request_id}
    by_case: dict[int, int] = {}
    if missing:
        # The latest request the user may see on each case.
        by_case = dict(
            requests_visible_to(user).filter(case_id__in=missing)
            .order_by("created_at", "id").values_list("case_id", "pk")
        )
    for alert in alerts:
        request_id = alert.request_id or by_case.get(alert.case_id)
        alert.url = (reverse("board:request", args=[request_id]) if request_id
                     else reverse("board:index"))
    return alerts


__all__ = [
    "DEFAULT_SORT",
    "HOME_QUEUES",
    "QUEUES",
    "SORTS",
    "PagedCases",
    "Queue",
    "QueueCount",
    "TimelineEntry",
    "Workspace",
    "agents",
    "alert_links",
    "alerts_for",
    "approved_compensations",
    "capped_count",
    "case_by_reference",
    "case_for_action",
    "case_for_workspace",
    "case_list_for_desk",
    "case_open_deadlines",
    "case_workspace",
    "deadline_state_q",
    "desk_queue_counts",
    "may_open_queue",
    "pending_compensations",
    "queue_q",
    "queues_for",
    "rows_in_order",
    "saved_filter_for",
    "saved_filters_for",
    "search_q",
]
