"""Cross-department collaboration requests, shown as cards on the shared board."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from cases import permissions as perms

if TYPE_CHECKING:
    from cases.models import User


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Plan proposed")
    ACCEPTED = "accepted", _("Plan accepted")
    ESCALATED = "escalated", _("Disputed, escalated")
    DECIDED = "decided", _("Decided")
    DONE = "done", _("Done")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_REQUEST_STATUSES = (
    RequestStatus.OPEN, RequestStatus.ANSWERED, RequestStatus.ACCEPTED,
    RequestStatus.ESCALATED, RequestStatus.DECIDED,
)
# Until a plan is agreed (accepted by the agent or decided by the manager) the case waits on the
# department; after that the agent carries on handling while the department works its to-dos.
WAITING_REQUEST_STATUSES = (RequestStatus.OPEN, RequestStatus.ANSWERED, RequestStatus.ESCALATED)


def can_decide_escalation(request: CollaborationRequest, user: User | None) -> bool:
    """The manager of the lowest common parent decides (``perms.can_decide_request``). When the
    two departments share no ancestor, or that department has no manager, nobody would be
    able to decide: a supervisor stands in so that a dispute never gets stuck."""
    if perms.can_decide_request(request, user):
        return True
    target = request.escalated_to
    return perms.is_supervisor(user) and (target is None or target.manager_id is None)


class CollaborationRequest(FSMModelMixin, models.Model):
    """An agent asks a department (its one liaison) for help on a case."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="collaboration_requests"
    )
    department = models.ForeignKey(
        "cases.Department", verbose_name=_("department"), on_delete=models.PROTECT,
        related_name="collaboration_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT,
        related_name="+",
    )
    # The asking side of a dispute: the requester's department (customer service), fixed when
    # the request is made so that later staff moves do not change who escalates to whom.
    requesting_department = models.ForeignKey(
        "cases.Department", verbose_name=_("requesting department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="requests_made",
    )
    ask = models.TextField(_("what we need"))
    status = FSMField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN,
        protected=True,
    )
    plan = models.TextField(_("proposed plan"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("plan by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    accepted_at = models.DateTimeField(_("plan accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("plan accepted by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    dispute_reason = models.TextField(_("dispute reason"), blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("disputed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    escalated_to = models.ForeignKey(
        "cases.Department", verbose_name=_("escalated to"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="escalations",
    )
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"))
    due_at = models.DateTimeField(_("due"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closing_note = models.TextField(_("closing note"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("collaboration request")
        verbose_name_plural = _("collaboration requests")
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="collab_board_idx"),
            models.Index(fields=["status", "due_at"], name="collab_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.department} / case {self.case_id}"

    def has_plan(self) -> bool:
        return bool(self.plan.strip())

    def has_decision(self) -> bool:
        return bool(self.decision.strip())

    @property
    def is_waiting(self) -> bool:
        """The case waits on the department until a plan is agreed."""
        return self.status in WAITING_REQUEST_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        """Only the department's first answer has a deadline (SLA ``department_minutes``)."""
        return self.status == RequestStatus.OPEN and now >= self.due_at

    @transition(field=status, source=RequestStatus.OPEN, target=RequestStatus.ANSWERED,
                conditions=[has_plan], permission=perms.can_answer_request)
    def answer(self) -> None:
        """The department proposes a plan."""

    @transition(field=status, source=RequestStatus.ANSWERED, target=RequestStatus.ACCEPTED,
                permission=perms.can_review_request)
    def accept(self) -> None:
        """The agent accepts the plan."""

    @transition(field=status, source=RequestStatus.ANSWERED, target=RequestStatus.ESCALATED,
                permission=perms.can_review_request)
    def dispute(self) -> None:
        """The agent disputes the plan: it goes to the common parent's manager."""

    @transition(field=status, source=RequestStatus.ESCALATED, target=RequestStatus.DECIDED,
                conditions=[has_decision], permission=can_decide_escalation)
    def decide(self) -> None:
        """The manager of the lowest common parent department decides."""

    @transition(field=status, source=[RequestStatus.ACCEPTED, RequestStatus.DECIDED],
                target=RequestStatus.DONE, permission=perms.can_complete_request)
    def complete(self) -> None:
        """The agreed plan was carried out."""

    @transition(field=status, source=[RequestStatus.OPEN, RequestStatus.ANSWERED],
                target=RequestStatus.WITHDRAWN, permission=perms.can_review_request)
    def withdraw(self) -> None:
        """The agent no longer needs the department."""


class CollaborationTodo(models.Model):
    request = models.ForeignKey(CollaborationRequest, on_delete=models.CASCADE,
                                related_name="todos")
    title = models.CharField(_("to-do"), max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        verbose_name = _("to-do")
        verbose_name_plural = _("to-dos")

    def __str__(self) -> str:
        return self.title


class CollaborationNote(models.Model):
    request = models.ForeignKey(CollaborationRequest, on_delete=models.CASCADE,
                                related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField(_("progress"))
    created_at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("request progress note")
        verbose_name_plural = _("request progress notes")
        indexes = [models.Index(fields=["request", "created_at"], name="collab_note_idx")]

    def __str__(self) -> str:
        return self.body[:40]
