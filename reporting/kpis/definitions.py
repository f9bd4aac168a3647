"""Every KPI of SPEC's "Reporting" section, defined once.

Each KPI is a ratio ``numerator / denominator`` of two database aggregates (conditional
``Count``/``Sum`` with ``filter=Q(...)``), so a period, a breakdown or a weekly trend is one
aggregate query and never a loop over cases in Python. Numerators and denominators are sums,
so rows grouped finely (by tier, channel, category and department) roll up exactly to any
coarser grouping.

Common rules (they hold for every KPI below):

* **Excluded:** cases in stage ``invalid`` (invalid or withdrawn: "closed without counting in
  KPIs"). Duplicates are real cases and count unless a person marked them invalid.
* **Periods** are half-open ``[start, end)`` intervals of aware datetimes computed in the
  desk's reporting time zone (``settings.TIME_ZONE``, Asia/Shanghai by default), so a case
  received at 23:59 Shanghai time on Sunday belongs to that week even though it is 15:59 UTC.
  Each KPI names the case time its period is taken on (its *anchor*); a case can therefore
  count in one period for one KPI and in the next period for another (received on Sunday,
  resolved on Monday).
* **Known outcomes only:** a case enters a deadline KPI's denominator once its outcome is
  known at ``now`` (the stop time was recorded, or the due time has passed). A case still
  within its allowed time is neither on time nor late yet.
* **Reopened cases** are measured on their latest round: reopening clears the resolution,
  feedback and revisit facts (``cases.services.case_reopen``) and restarts the solution
  clock, so the case leaves the feedback, revisit and satisfaction KPIs until it goes through
  them again, and counts once. The weekly review is a snapshot, so a reopening does not
  rewrite an earlier week's review.
* Deadlines are the clocks' due times stored on the case (admin SLA policies: first response
  1/2/4 h by tier, solution 24/48/72 h, feedback 24 h, department response 24 h), **paused-
  adjusted**: a pause with a lawful reason (``cases.services.pauses``) moves the due times of
  the clocks it stopped later by the paused time, counted in each clock's basis (elapsed or
  working time), so a case is judged on time against the moved due time. While a case is
  paused its old due time is not "passed": the moved one is written when it resumes.
"""


from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import CaseTransition, Customer
from cases.models.collaboration import RequestStatus
from reporting.choices import Direction

PERCENT = "percent"
HOURS = "hours"
CASE = "case"
REQUEST = "request"


@dataclass(frozen=True)
class Window:
    """A half-open period ``[start, end)`` and the moment the facts are read (``now``).
    ``start`` and ``end`` None is all time (``all_time``): ``reporting.summaries`` measures
    each case once that way and files every KPI's counts under the local day of its anchor."""

    start: datetime | None
    end: datetime | None
    now: datetime


def all_time(now: datetime) -> Window:
    """The window with no start and no end, read at ``now``."""
    return Window(None, None, now)


def in_window(window: Window, field: str) -> Q:
    """``field`` lies in the window (all time: ``field`` is set)."""
    if window.start is None or window.end is None:
        return Q(**{f"{field}__isnull": False})
    return Q(**{f"{field}__gte": window.start, f"{field}__lt": window.end})


def _known(stop: str, due: str, window: Window) -> Q:
    """The outcome of a clock is known: it stopped, or its due time has passed."""
    return Q(**{f"{stop}__isnull": False}) | Q(**{f"{due}__lte": window.now})


Measure = Callable[[Window], tuple[Any, Any]]


# --- the KPIs: each returns (numerator, denominator) aggregates for a window -------------------
def first_response_on_time(w: Window) -> tuple[Any, Any]:
    """First-response on time 响应达标率 (target >= 95 %).

    Period taken on: ``received_at`` (the response clock starts at receipt).
    Denominator: cases received in the period that have a first-response deadline and whose
    outcome is known (responded, or the due time has passed).
    Numerator: of those, cases first responded at or before the due time
    (``first_responded_at <= response_due_at``; the due time is paused-adjusted). A first
    response is the first human contact (hotline and walk-in cases are responded at receipt),
    never the automatic acknowledgement.
    """
    den = in_window(w, "received_at") & Q(response_due_at__isnull=False) & _known(
        "first_responded_at", "response_due_at", w
    )
    num = den & Q(first_responded_at__lte=F("response_due_at"))
    return Count("pk", filter=num), Count("pk", filter=den)


def _solution_due(w: Window) -> Q:
    return in_window(w, "received_at") & Q(solution_due_at__isnull=False) & _known(
        "resolved_at", "solution_due_at", w
    )


def handling_complete(w: Window) -> tuple[Any, Any]:
    """Handling complete 投诉处理完成率 (target >= 95 %).

    Period taken on: ``received_at``.
    Denominator: cases received in the period whose solution is due by now or that are
    already resolved (a case still within its solution time is not counted yet).
    Numerator: of those, cases resolved (solution issued, ``resolved_at`` set), on time or
    late. A reopened case is unresolved again until it is resolved anew.
    """
    den = _solution_due(w)
    return Count("pk", filter=den & Q(resolved_at__isnull=False)), Count("pk", filter=den)


def late_handling(w: Window) -> tuple[Any, Any]:
    """Late handling 处理不及时发生率 (target <= 8 %).

    Period taken on: ``received_at``.
    Denominator: as for handling complete (solution due by now, or resolved).
    Numerator: of those, cases resolved after the solution due time (paused-adjusted), or
    still unresolved although the due time has passed.
    """
    den = _solution_due(w)
    late = Q(resolved_at__gt=F("solution_due_at")) | Q(
        resolved_at__isnull=True, solution_due_at__lte=w.now
    )
    return Count("pk", filter=den & late), Count("pk", filter=den)


def feedback_on_time(w: Window) -> tuple[Any, Any]:
    """Feedback given within 24 h 反馈完成率 (target >= 95 %).

    Period taken on: ``resolved_at`` (the feedback clock starts at resolution).
    Denominator: cases resolved in the period with a feedback deadline whose outcome is known
    (feedback given, or the due time has passed).
    Numerator: of those, feedback given at or before the due time (24 h after resolution by
    default; admins set it per tier; paused-adjusted).
    """
    den = in_window(w, "resolved_at") & Q(feedback_due_at__isnull=False) & _known(
        "feedback_given_at", "feedback_due_at", w
    )
    num = den & Q(feedback_given_at__lte=F("feedback_due_at"))
    return Count("pk", filter=num), Count("pk", filter=den)


def revisit_done(w: Window) -> tuple[Any, Any]:
    """Revisit done 满意度回访率 (target >= 90 %).

    Period taken on: ``revisit_due_at`` (48 h after feedback).
    Denominator: cases whose feedback was given and whose revisit fell due in the period
    (due time passed) or was already done.
    Numerator: of those, cases with a recorded revisit (survey answer or phone call), at any
    time.
    """
    den = (
        in_window(w, "revisit_due_at")
        & Q(feedback_given_at__isnull=False)
        & _known("revisit_done_at", "revisit_due_at", w)
    )
    return Count("pk", filter=den & Q(revisit_done_at__isnull=False)), Count("pk", filter=den)


def satisfaction(w: Window) -> tuple[Any, Any]:
    """Satisfaction 客户满意度 (target >= 85 %).

    Period taken on: ``revisit_done_at`` (when the customer answered).
    Denominator: cases whose revisit was recorded in the period with a score.
    Numerator: of those, scores 4 or 5 (``satisfied``).
    """
    den = in_window(w, "revisit_done_at") & Q(satisfaction_score__isnull=False)
    return Count("pk", filter=den & Q(satisfaction_score__gte=4)), Count("pk", filter=den)


def tier_accuracy(w: Window) -> tuple[Any, Any]:
    """Tier accuracy 分级准确率 (target >= 90 %).

    Period taken on: ``received_at``.
    Denominator: cases received in the period whose tier was confirmed (tier 1-3; untriaged
    cases are not graded yet).
    Numerator: of those, cases never re-tiered after confirmation (``retiered`` false).
    """
    den = in_window(w, "received_at") & Q(tier__gt=0)
    return Count("pk", filter=den & Q(retiered=False)), Count("pk", filter=den)


def _upward_retiers() -> Any:
    # Tier values are "1".."3" in the log; a smaller number is a more urgent tier.
    return CaseTransition.objects.filter(
        field="tier", name="retier", target__lt=F("source")
    ).values("case_id")


def slow_response_escalation(w: Window) -> tuple[Any, Any]:
    """Escalations caused by slow response 投诉升级率 (target: falling period over period).

    Period taken on: ``received_at``.
    Denominator: cases received in the period.
    Numerator: of those, cases whose first response was slow (given after its due time,
    flagged ``response_breached``, or still missing after the due time) and that then
    escalated, i.e. at least one of: re-tiered to a more urgent tier by a supervisor (the
    tier log shows a move to a smaller tier number), a dissatisfied revisit (score 1-3,
    which opens the second follow-up), or reopened after closing. A slow response followed
    by none of these did not escalate; an escalation after a timely response is not counted.
    """
    den = in_window(w, "received_at")
    slow = (
        Q(response_breached=True)
        | Q(first_responded_at__gt=F("response_due_at"))
        | Q(first_responded_at__isnull=True, response_due_at__lte=w.now)
    )
    escalated = (
        Q(pk__in=_upward_retiers()) | Q(satisfaction_score__lte=3) | Q(reopen_count__gt=0)
    )
    return Count("pk", filter=den & slow & escalated), Count(
        "pk", filter=den
    )


def key_customer_recovery(w: Window) -> tuple[Any, Any]:
    """Key-customer recovery 核心客户投诉挽回率 (target >= 90 %).

    Period taken on: ``closed_at``.
    Denominator: cases of key customers (``customer.is_key_customer``) closed in the period
    (satisfied revisit, or a completed second follow-up).
    Numerator: of those, cases whose closing revisit was satisfied (score 4-5): the customer
    was kept. A second follow-up after a dissatisfied revisit closes the loop but is not
    counted as recovered.
    """
    key = Q(customer_id__in=Customer.objects.filter(is_key_customer=True).values("pk"))
    den = in_window(w, "closed_at") & key
    return Count("pk", filter=den & Q(satisfaction_score__gte=4)), Count("pk", filter=den)


def average_handling_cycle(w: Window) -> tuple[Any, Any]:
    """Average handling cycle 平均处理周期, in hours (target: falling period over period).

    Period taken on: ``resolved_at``.
    Denominator: cases resolved in the period.
    Numerator: the sum of their handling times ``resolved_at - received_at``; the KPI is the
    mean. A reopened and resolved-again case counts from its receipt to its latest resolution.
    """
    den = in_window(w, "resolved_at")
    duration = ExpressionWrapper(F("resolved_at") - F("received_at"), output_field=DurationField())
    return Sum(duration, filter=den), Count("pk", filter=den)


def department_response(w: Window) -> tuple[Any, Any]:
    """Department response within 24 h (target >= 95 %). Measured on collaboration requests.

    Period taken on: the request's ``created_at``.
    Denominator: requests (of non-invalid cases) created in the period whose outcome is known:
    answered (a plan proposed), or due time passed. A request withdrawn before its due time
    without an answer is excluded; one withdrawn later counts as late.
    Numerator: of those, requests answered at or before the due time (24 h by default).
    Broken down by the requested department (not the case's responsible department).
    """
    withdrawn_early = Q(status=RequestStatus.WITHDRAWN, answered_at__isnull=True) & Q(
        closed_at__lte=F("due_at")
    )
    den = (
        in_window(w, "created_at")
        & (Q(answered_at__isnull=False) | Q(due_at__lte=w.now))
        & ~withdrawn_early
    )
    return Count("pk", filter=den & Q(answered_at__lte=F("due_at"))), Count("pk", filter=den)


def review_rate(w: Window) -> tuple[Any, Any]:
    """Review rate 申请核查率 (target <= 5 %): how often complainants ask for a review.

    Period taken on: ``feedback_given_at`` (the answer the review is asked about).
    Denominator: cases given feedback in the period.
    Numerator: of those, cases whose complainant asked for a review (at any time; a case is
    reviewed at most once).
    """
    den = in_window(w, "feedback_given_at")
    return Count("pk", filter=den & Q(review_requested_at__isnull=False)), Count(
        "pk", filter=den)


def review_changed(w: Window) -> tuple[Any, Any]:
    """Changed-decision rate 核查改判率 (target: falling period over period).

    Period taken on: ``review_done_at`` (when the reviewer concluded).
    Denominator: reviews concluded in the period.
    Numerator: of those, reviews that changed the decision (``review_changed``).
    """
    den = in_window(w, "review_done_at")
    return Count("pk", filter=den & Q(review_changed=True)), Count("pk", filter=den)


def review_on_time(w: Window) -> tuple[Any, Any]:
    """Review concluded on time 核查按时完成率 (target >= 95 %).

    Period taken on: ``review_due_at`` (the review clock: SlaPolicy ``review_minutes``,
    15 days by default, from the request).
    Denominator: reviews due in the period whose outcome is known (concluded, or due time
    passed).
    Numerator: of those, reviews concluded at or before the due time.
    """
    den = in_window(w, "review_due_at") & _known("review_done_at", "review_due_at", w)
    return Count("pk", filter=den & Q(review_done_at__lte=F("review_due_at"))), Count(
        "pk", filter=den)


def paused_time(w: Window) -> tuple[Any, Any]:
    """Paused time 暂停时长, in hours per resolved case (target: falling period over period).

    Period taken on: ``resolved_at``.
    Denominator: cases resolved in the period.
    Numerator: the sum of their paused time (``paused_total``): the elapsed length of every
    pause with a lawful reason (waiting for the complainant's materials, a third-party
    appraisal, another authority, ...), all pauses of the case added up. Resolving a paused
    case ends its pause, so the total is complete at resolution. The KPI is the mean; the
    reasons' own totals are in the case's pauses (``cases.CasePause``), not a breakdown here.
    """
    den = in_window(w, "resolved_at")
    return Sum("paused_total", filter=den), Count("pk", filter=den)


def statutory_on_time(w: Window) -> tuple[Any, Any]:
    """On time by statute 法定时限内办结率 (target 100 %).

    Period taken on: ``received_at``.
    Denominator: cases received in the period that run under a statutory regime whose
    statutory clock has started (``statutory_due_at`` set: at receipt or at acceptance, as
    the regime says) and whose outcome is known: decided (``statutory_stopped_at``, the
    resolution), or the statutory due time has passed.
    Numerator: of those, cases decided at or before the statutory due time. The due time is
    the one in force at the decision: approved extensions move it, and a regulator's own
    earlier deadline replaces it (cases.services.statutory).
    """
    den = in_window(w, "received_at") & Q(statutory_due_at__isnull=False) & _known(
        "statutory_stopped_at", "statutory_due_at", w
    )
    num = den & Q(statutory_stopped_at__lte=F("statutory_due_at"))
    return Count("pk", filter=num), Count("pk", filter=den)


def extensions_approved(w: Window) -> tuple[Any, Any]:
    """Statutory extensions requested / approved 延期申请批准率 (no target: watched period
    over period).

    Period taken on: ``received_at``.
    Denominator: the statutory extensions requested on the cases received in the period
    (``extensions_requested``; pending and refused requests included).
    Numerator: of those, the extensions approved (``extensions_approved``). A high share of
    requests is a sign of limits that are too tight for the work; a low approval share, of
    requests that are not justified. Shown with both counts in the breakdowns.
    """
    den = in_window(w, "received_at") & Q(extensions_requested__gt=0)
    return (Sum("extensions_approved", filter=den, default=0),
            Sum("extensions_requested", filter=den, default=0))


@dataclass(frozen=True)
class Kpi:
    """One KPI: code, label, target direction and default, unit, what it counts (cases or
    collaboration requests), the time its period is taken on, and its measure."""

    code: str
    label: Promise
    direction: str
    default_target: Decimal | None
    unit: str
    source: str
    anchor: str
    measure: Measure
    definition: Promise

    @property
    def doc(self) -> str:
        return (self.measure.__doc__ or "").strip()

    @property
    def lower_is_better(self) -> bool:
        return self.direction in (Direction.AT_MOST, Direction.FALLING)


KPIS: tuple[Kpi, ...] = (
    Kpi("first_response", _("First response on time"), Direction.AT_LEAST, Decimal(95),
        PERCENT, CASE, "received_at", first_response_on_time,
        _("Cases received in the period whose first human contact came by its due time "
          "(moved by any pause), out of those responded or already due.")),
    Kpi("handling_complete", _("Handling complete"), Direction.AT_LEAST, Decimal(95),
        PERCENT, CASE, "received_at", handling_complete,
        _("Cases received in the period that are resolved, out of those resolved or past "
          "their solution due time (moved by any pause).")),
    Kpi("satisfaction", _("Satisfaction (score 4-5)"), Direction.AT_LEAST, Decimal(85),
        PERCENT, CASE, "revisit_done_at", satisfaction,
        _("Revisits answered in the period with a score of 4 or 5, out of all revisits "
          "answered in the period.")),
    Kpi("feedback_on_time", _("Feedback within 24 h"), Direction.AT_LEAST, Decimal(95),
        PERCENT, CASE, "resolved_at", feedback_on_time,
        _("Cases resolved in the period whose result was fed back by the feedback due time "
          "(24 h, moved by any pause), out of those fed back or already due.")),
    Kpi("revisit_done", _("Revisit done"), Direction.AT_LEAST, Decimal(90),
        PERCENT, CASE, "revisit_due_at", revisit_done,
        _("Revisits that fell due in the period and were done, out of all revisits due in "
          "the period.")),
    Kpi("tier_accuracy", _("Tier accuracy (never re-tiered)"), Direction.AT_LEAST, Decimal(90),
        PERCENT, CASE, "received_at", tier_accuracy,
        _("Cases received and tiered in the period that were never re-tiered.")),
    Kpi("late_handling", _("Late handling"), Direction.AT_MOST, Decimal(8),
        PERCENT, CASE, "received_at", late_handling,
        _("Cases received in the period resolved after the solution due time (moved by any "
          "pause) or still open past it, out of those resolved or past due.")),
    Kpi("slow_response_escalation", _("Escalations after slow response"), Direction.FALLING,
        None, PERCENT, CASE, "received_at", slow_response_escalation,
        _("Cases received in the period whose first response was late and that were then "
          "re-tiered upward, revisited dissatisfied or reopened, out of all cases received.")),
    Kpi("key_customer_recovery", _("Key-customer recovery"), Direction.AT_LEAST, Decimal(90),
        PERCENT, CASE, "closed_at", key_customer_recovery,
        _("Key customers' cases closed in the period with a satisfied revisit (score 4-5), "
          "out of all their cases closed in the period.")),
    Kpi("department_response", _("Department response within 24 h"), Direction.AT_LEAST,
        Decimal(95), PERCENT, REQUEST, "created_at", department_response,
        _("Collaboration requests sent in the period that the department answered by the due "
          "time (24 h), out of those answered or already due; early withdrawals excluded.")),
    Kpi("review_rate", _("Review requests"), Direction.AT_MOST, Decimal(5),
        PERCENT, CASE, "feedback_given_at", review_rate,
        _("Cases given feedback in the period whose complainant asked for a review, out of "
          "all cases given feedback in the period.")),
    Kpi("review_changed", _("Reviews that changed the decision"), Direction.FALLING, None,
        PERCENT, CASE, "review_done_at", review_changed,
        _("Reviews concluded in the period that changed the decision, out of all reviews "
          "concluded in the period.")),
    Kpi("review_on_time", _("Reviews concluded on time"), Direction.AT_LEAST, Decimal(95),
        PERCENT, CASE, "review_due_at", review_on_time,
        _("Reviews due in the period that were concluded by their due time, out of those "
          "concluded or already due.")),
    Kpi("handling_cycle", _("Average handling cycle (hours)"), Direction.FALLING, None,
        HOURS, CASE, "resolved_at", average_handling_cycle,
        _("Mean time from receipt to resolution of the cases resolved in the period, "
          "in hours.")),
    Kpi("paused_time", _("Average paused time (hours)"), Direction.FALLING, None,
        HOURS, CASE, "resolved_at", paused_time,
        _("Mean time the clocks of the cases resolved in the period stood paused for a "
          "lawful reason (waiting for the complainant's materials, an appraisal, an "
          "authority), in hours.")),
    Kpi("statutory_on_time", _("On time by statute"), Direction.AT_LEAST, Decimal(100),
        PERCENT, CASE, "received_at", statutory_on_time,
        _("Cases under a statutory regime received in the period and decided by their "
          "statutory due time (extensions included), out of those decided or already "
          "due.")),
    Kpi("extensions_approved", _("Statutory extensions approved"), Direction.FALLING, None,
        PERCENT, CASE, "received_at", extensions_approved,
        _("Statutory extensions approved, out of the extensions requested on the cases "
          "received in the period.")),
)
KPI_BY_CODE: dict[str, Kpi] = {k.code: k for k in KPIS}
CASE_KPIS = tuple(k for k in KPIS if k.source == CASE)
REQUEST_KPIS = tuple(k for k in KPIS if k.source == REQUEST)
CASE_ANCHORS = ("received_at", "resolved_at", "revisit_due_at", "revisit_done_at", "closed_at",
                "feedback_given_at", "review_done_at", "review_due_at")

# Breakdown dimensions: name -> (case field, request field).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "tier": ("tier", "case__tier"),
    "channel": ("channel", "case__channel"),
    "category": ("category", "case__category"),
    "department": ("department_id", "department_id"),
}


def num_key(code: str) -> str:
    """The name of a KPI's numerator in aggregate rows and sums."""
    return f"{code}__num"


def den_key(code: str) -> str:
    """The name of a KPI's denominator in aggregate rows and sums."""
    return f"{code}__den"
