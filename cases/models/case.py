"""The case, its two state machines (stage and tier), and what hangs off it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMIntegerField, FSMModelMixin, transition

from cases import permissions as perms
from cases.choices import (
    OPEN_STAGES,
    REVIEWABLE_STAGES,
    Category,
    ChannelKind,
    CompensationKind,
    CompensationStatus,
    Difficulty,
    NoteKind,
    Scope,
    SlaState,
    Stage,
    Tier,
    Urgency,
)

from .managers import CaseQuerySet

# Sources and targets written once, so the graph reads like SPEC's process.
_REVISIT_SOURCES = [Stage.FEEDBACK_GIVEN, Stage.REVISIT]
# A review is concluded, never closed as invalid (that would bypass the reviewer).
_CLOSABLE = [s for s in OPEN_STAGES if s != Stage.REVIEW]


class Case(FSMModelMixin, models.Model):
    """One complaint. Stage and tier change only through the transitions below, called by
    ``cases.services``; both fields are protected, so assignment raises AttributeError."""

    # NULL only inside the intake transaction: the reference is derived from the primary key.
    reference = models.CharField(  # noqa: DJ001
        _("reference"), max_length=24, unique=True, null=True
    )
    tracking_code = models.CharField(_("tracking code"), max_length=16)
    customer = models.ForeignKey(
        "cases.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
        related_name="cases", db_index=False,  # case_customer_idx leads with it
    )
    channel = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    source = models.ForeignKey(
        "channels.Channel", verbose_name=_("intake channel"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="cases",
    )
    external_id = models.CharField(_("external id"), max_length=120, blank=True)
    received_at = models.DateTimeField(_("received"))
    occurred_at = models.DateTimeField(_("occurred"), null=True, blank=True)

    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    order_ref = models.CharField(_("order / product reference"), max_length=64, blank=True)
    # The company or product complained about, as a legacy export names it (not a matter key).
    company = models.CharField(_("company / product"), max_length=200, blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)
    desired_outcome = models.TextField(_("desired outcome"), blank=True)

    urgency = models.CharField(
        _("urgency"), max_length=12, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    scope = models.CharField(
        _("impact scope"), max_length=12, choices=Scope.choices, default=Scope.INDIVIDUAL
    )
    difficulty = models.CharField(
        _("difficulty"), max_length=20, choices=Difficulty.choices, default=Difficulty.FRONTLINE
    )
    suggested_tier = models.PositiveSmallIntegerField(
        _("suggested tier"), choices=Tier.choices, default=Tier.ROUTINE
    )
    tier = FSMIntegerField(_("tier"), choices=Tier.choices, default=Tier.UNTRIAGED, protected=True)
    stage = FSMField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.RECEIVED, protected=True
    )
    retiered = models.BooleanField(_("re-tiered"), default=False)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("first-contact owner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="owned_cases",
        db_index=False,  # case_owner_due_idx leads with it
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handler"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="handled_cases",
        db_index=False,  # case_handler_idx leads with it
    )
    task_force = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("task force"), blank=True,
        related_name="task_force_cases",
    )
    department = models.ForeignKey(
        "cases.Department", verbose_name=_("responsible department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="cases",
        db_index=False,  # case_department_idx leads with it
    )
    # Recusal 回避: the employee the complaint is about never handles or owns it
    # (cases.services.recusal).
    complained_employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("employee complained about"), null=True,
        blank=True, on_delete=models.PROTECT, related_name="complaints_about",
    )
    # Why automatic routing left a triaged case unassigned (empty once assigned).
    routing_note = models.CharField(_("routing"), max_length=200, blank=True)
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("duplicate of"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="duplicates",
    )
    group = models.ForeignKey(
        "cases.ComplaintGroup", verbose_name=_("group complaint"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="cases",
    )

    # Clocks: a due time set when the clock starts, and the time it stopped.
    assign_due_at = models.DateTimeField(_("assign due"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solution_due_at = models.DateTimeField(_("solution due"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    progress_due_at = models.DateTimeField(_("progress note due"), null=True, blank=True)
    last_progress_at = models.DateTimeField(_("last progress note"), null=True, blank=True)
    feedback_due_at = models.DateTimeField(_("feedback due"), null=True, blank=True)
    feedback_given_at = models.DateTimeField(_("feedback given"), null=True, blank=True)
    revisit_due_at = models.DateTimeField(_("revisit due"), null=True, blank=True)
    revisit_done_at = models.DateTimeField(_("revisit done"), null=True, blank=True)
    follow_up_due_at = models.DateTimeField(_("follow-up due"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("follow-up done"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The complainant's review 申请核查 (details on CaseReview): requested, due, concluded.
    review_requested_at = models.DateTimeField(_("review requested"), null=True, blank=True)
    review_due_at = models.DateTimeField(_("review due"), null=True, blank=True)
    review_done_at = models.DateTimeField(_("review concluded"), null=True, blank=True)
    review_changed = models.BooleanField(_("review changed the decision"), null=True, blank=True)
    # The statutory clock (cases.services.statutory): due time and stop time, and the
    # extensions asked for and granted, as facts for the KPIs.
    statutory_due_at = models.DateTimeField(_("statutory due"), null=True, blank=True)
    statutory_stopped_at = models.DateTimeField(_("statutory clock stopped"), null=True,
                                                blank=True)
    extensions_requested = models.PositiveSmallIntegerField(_("extensions requested"), default=0)
    extensions_approved = models.PositiveSmallIntegerField(_("extensions approved"), default=0)
    # Denormalised for the desk: nearest open due time and the worst state of the open clocks.
    # ``sla_state``, ``ever_breached`` and ``response_breached`` are in no index (migration
    # 0011): the deadline sweep rewrites them on thousands of cases per run, and with no indexed
    # column changed (and free room left by the table's fillfactor) PostgreSQL updates the row
    # in place (HOT) instead of writing a new entry into each of the table's ~30 indexes.
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    # The earliest time one of the open clocks goes at risk (75 %). With ``next_due_at`` it
    # gives the live deadline state from the open-case index alone: breached when
    # next_due_at has passed, at risk when next_risk_at has and next_due_at has not. Set with
    # the clocks (never by the sweep, which only flips states), so sweep updates stay HOT.
    next_risk_at = models.DateTimeField(_("next at risk"), null=True, blank=True)
    # The calendar whose working time the nearest open deadline counts in (None: elapsed
    # time), so the desk can say "due in 5 working hours" without reading the deadlines.
    next_due_calendar = models.ForeignKey(
        "cases.WorkCalendar", verbose_name=_("next due counts working time of"), null=True,
        blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
    )
    sla_state = models.CharField(
        _("deadline state"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME
    )
    ever_breached = models.BooleanField(_("ever breached"), default=False)
    response_breached = models.BooleanField(_("first response breached"), default=False)
    # Pauses (cases.models.pauses): when the open pause began (None: not paused) and the
    # elapsed length of the ended ones. In no index: the desk's badge reads them off the row.
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    awaiting_reply_since = models.DateTimeField(_("customer replied"), null=True, blank=True)
    # db_default too: rows written by raw SQL (bench seeds) get it from the database.
    paused_total = models.DurationField(_("paused in total"), default=timedelta(0),
                                        db_default=timedelta(0))

    solution = models.TextField(_("solution"), blank=True)
    root_cause = models.ForeignKey(
        "cases.RootCause", verbose_name=_("root cause"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="cases",
    )
    feedback_message = models.TextField(_("feedback to customer"), blank=True)
    preventive_measures = models.TextField(_("preventive measures"), blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    closing_reason = models.TextField(_("closing reason"), blank=True)

    version = models.PositiveIntegerField(_("version"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Set when the personal data was removed (retention ran out, or the customer's erasure).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""),
                name="case_unique_external_id_per_channel",
            ),
        ]
        indexes = [
            # With the id as the tie-breaker, so a list page sorted on them stops after its rows.
            models.Index(fields=["stage", "next_due_at", "id"], name="case_stage_due_idx"),
            models.Index(fields=["owner", "stage", "next_due_at"], name="case_owner_due_idx"),
            models.Index(fields=["handler", "stage"], name="case_handler_idx"),
            models.Index(fields=["tier", "stage"], name="case_tier_stage_idx"),
            models.Index(fields=["received_at", "id"], name="case_received_idx"),
            models.Index(fields=["channel", "received_at"], name="case_channel_idx"),
            models.Index(fields=["category", "received_at"], name="case_category_idx"),
            models.Index(fields=["department", "received_at"], name="case_department_idx"),
            models.Index(fields=["customer", "received_at"], name="case_customer_idx"),
            # Intake's matter read: one order's recent cases of a category, any letter case.
            models.Index(Upper("order_ref"), F("category"), F("received_at"),
                         name="case_order_idx"),
            # ... and, for a complaint without a reference, one location's (issue 20).
            models.Index(Upper("location"), F("category"), F("received_at"),
                         name="case_location_idx", condition=Q(order_ref="")),
            models.Index(fields=["resolved_at"], name="case_resolved_idx"),
            models.Index(fields=["feedback_given_at"], name="case_feedback_idx"),
            models.Index(fields=["revisit_due_at", "stage"], name="case_revisit_due_idx"),
            models.Index(fields=["awaiting_reply_since", "id"], name="case_awaiting_reply_idx",
                         condition=Q(awaiting_reply_since__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.reference or f"case #{self.pk}"

    # --- conditions (pure) ------------------------------------------------------------------
    def is_graded(self) -> bool:
        return bool(self.urgency and self.scope and self.difficulty)

    def is_tiered(self) -> bool:
        return self.tier != Tier.UNTRIAGED

    def has_handler(self) -> bool:
        return self.handler_id is not None

    def has_first_response(self) -> bool:
        return self.first_responded_at is not None

    def has_solution(self) -> bool:
        return bool(self.solution.strip())

    def has_feedback(self) -> bool:
        return bool(self.feedback_message.strip())

    # --- tier machine -----------------------------------------------------------------------
    @transition(
        field=tier, source=Tier.UNTRIAGED, target=RETURN_VALUE(*Tier.values[1:]),
        permission=perms.can_triage,
    )
    def confirm_tier(self, tier: int) -> int:
        return int(tier)

    @transition(
        field=tier, source=[Tier.URGENT, Tier.IMPORTANT, Tier.ROUTINE],
        target=RETURN_VALUE(*Tier.values[1:]), conditions=[is_tiered],
        permission=perms.can_retier,
    )
    def retier(self, tier: int) -> int:
        self.retiered = True
        return int(tier)

    # --- stage machine ----------------------------------------------------------------------
    @transition(
        field=stage, source=Stage.RECEIVED, target=Stage.TRIAGED, conditions=[is_graded],
        permission=perms.can_triage,
    )
    def triage(self) -> None:
        """Grading recorded and tier confirmed (the service confirms the tier first)."""

    @transition(
        field=stage, source=Stage.TRIAGED, target=Stage.ASSIGNED,
        conditions=[is_tiered, has_handler], permission=perms.can_assign,
        custom={"system": True},  # automatic routing assigns as the system
    )
    def assign(self) -> None:
        """Responsibility given to a handler (and a task force for tier 1)."""

    @transition(
        field=stage, source=Stage.ASSIGNED, target=Stage.IN_PROGRESS,
        permission=perms.can_handle,
    )
    def start(self) -> None:
        """The handler takes the case up, contacting the customer if nobody has yet."""

    @transition(
        field=stage, source=Stage.IN_PROGRESS, target=Stage.WAITING_DEPARTMENT,
        permission=perms.can_handle, custom={"system": True},
    )
    def wait_for_department(self) -> None:
        """A collaboration request is open: the case waits on another department."""

    @transition(
        field=stage, source=Stage.WAITING_DEPARTMENT, target=Stage.IN_PROGRESS,
        permission=perms.can_handle, custom={"system": True},
    )
    def resume(self) -> None:
        """The department answered (or the request was withdrawn)."""

    @transition(
        field=stage, source=Stage.IN_PROGRESS, target=Stage.RESOLVED,
        conditions=[has_first_response, has_solution], permission=perms.can_handle,
    )
    def resolve(self) -> None:
        """Solution and root cause recorded."""

    @transition(
        field=stage, source=Stage.RESOLVED, target=Stage.FEEDBACK_GIVEN,
        conditions=[has_feedback], permission=perms.can_handle,
    )
    def give_feedback(self) -> None:
        """The customer is told the result, compensation and preventive measures."""

    @transition(
        field=stage, source=Stage.FEEDBACK_GIVEN, target=Stage.REVISIT,
        permission=perms.can_work, custom={"system": True},
    )
    def open_revisit(self) -> None:
        """48 h after feedback: survey sent and a phone-call task for the owner."""

    @transition(
        field=stage, source=_REVISIT_SOURCES, target=RETURN_VALUE(Stage.CLOSED, Stage.FOLLOW_UP),
        permission=perms.can_work, custom={"system": True},
    )
    def record_revisit(self, satisfied: bool) -> str:
        return Stage.CLOSED if satisfied else Stage.FOLLOW_UP

    @transition(
        field=stage, source=Stage.FOLLOW_UP, target=Stage.CLOSED, permission=perms.can_handle,
    )
    def complete_follow_up(self) -> None:
        """Extra compensation or an adjusted plan delivered after a dissatisfied revisit."""

    @transition(
        field=stage, source=Stage.CLOSED, target=Stage.IN_PROGRESS, permission=perms.can_reopen,
    )
    def reopen(self) -> None:
        self.reopen_count += 1

    @transition(
        field=stage, source=list(REVIEWABLE_STAGES), target=Stage.REVIEW,
        permission=perms.can_request_review, custom={"system": True},
    )
    def request_review(self) -> None:
        """The complainant, not satisfied with the answer, asks for a review (once)."""

    @transition(
        field=stage, source=Stage.REVIEW, target=Stage.CLOSED, permission=perms.can_review,
    )
    def conclude_review(self) -> None:
        """A reviewer above the handler confirmed or changed the decision."""

    @transition(
        field=stage, source=_CLOSABLE, target=Stage.INVALID, permission=perms.can_invalidate,
    )
    def invalidate(self) -> None:
        """Invalid or withdrawn: closed without counting in KPIs."""

    @transition(
        field=stage, source=_CLOSABLE, target=Stage.INVALID, permission=perms.can_merge,
    )
    def close_as_duplicate(self) -> None:
        """Merged into a primary case (``duplicate_of``): closed without counting in KPIs."""

    @transition(
        field=stage, source=Stage.INVALID, target=RETURN_VALUE(*_CLOSABLE),
        permission=perms.can_work,
    )
    def restore_merged(self, stage: str) -> str:
        """A merge undone: back to the stage the case had (the service checks who may)."""
        return stage


class CaseTransition(models.Model):
    """The transition log: who moved which machine from what to what, when, and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    field = models.CharField(_("machine"), max_length=10)  # "stage" or "tier"
    name = models.CharField(_("transition"), max_length=40)
    source = models.CharField(_("from"), max_length=20)
    target = models.CharField(_("to"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), db_index=True)
    # Taken from a legacy system's export: it happened there, at ``at``, not on this desk.
    imported = models.BooleanField(_("imported"), default=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        indexes = [models.Index(fields=["case", "at"], name="transition_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.field} {self.source} -> {self.target}"


class CaseNote(models.Model):
    """Internal notes, progress updates, contacts with the customer and customer messages."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(_("kind"), max_length=20, choices=NoteKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    body = models.TextField(_("text"))
    visible_to_customer = models.BooleanField(_("visible to customer"), default=False)
    external_message_id = models.CharField(max_length=255, blank=True)
    # The address an unverified message came from, shown to staff beside it.
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("at"))
    # A reply's outbox row: its delivery status is shown beside the message.
    notice = models.ForeignKey("cases.Notice", verbose_name=_("notice"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="notes")
    # Moved here from another case by a merge or a split (shown as "from TS-...").
    moved_from = models.ForeignKey(
        "cases.Case", verbose_name=_("moved from"), null=True,
        blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [models.Index(fields=["case", "created_at"], name="note_case_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.case_id}"


class Compensation(models.Model):
    """Compensation offered to the customer. Above the threshold a supervisor approves it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="compensations")
    kind = models.CharField(_("kind"), max_length=20, choices=CompensationKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    description = models.CharField(_("description"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CompensationStatus.choices,
        default=CompensationStatus.PROPOSED,
    )
    # None: imported from a legacy system, where nobody on this desk proposed it.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("proposed at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        indexes = [models.Index(fields=["status", "created_at"], name="compensation_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
