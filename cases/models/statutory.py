"""Statutory regimes 法定时限: the limits a regulation sets on top of the desk's own tiers, the
regime a case runs under (with the regulator's reference and deadline when a regulator forwarded
it), and extension requests with their approval."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import Role

# Who may approve an extension: a desk role above the frontline (the approver decides in the
# case workspace, which is for agents).
APPROVER_ROLES = [(Role.SENIOR.value, Role.SENIOR.label),
                  (Role.SUPERVISOR.value, Role.SUPERVISOR.label)]


class RegimeBasis(models.TextChoices):
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")


class RegimeStart(models.TextChoices):
    RECEIPT = "receipt", _("Receipt of the complaint")
    ACCEPTANCE = "acceptance", _("Acceptance (triage 受理)")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class Regime(models.Model):
    """A statutory regime: the limit a regulation sets on deciding a complaint, counted in
    calendar or working days from receipt or from acceptance, with the extensions it allows
    (each approved by a role) up to a maximum total. ``acceptance_days``: a separate limit,
    from receipt, on deciding whether to accept the complaint at all (market regulation)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    source = models.TextField(
        _("source"), help_text=_("The regulation's name and article this regime comes from."))
    description = models.TextField(_("description"), blank=True)
    basis = models.CharField(_("basis"), max_length=16, choices=RegimeBasis.choices,
                             default=RegimeBasis.CALENDAR_DAYS)
    calendar = models.ForeignKey(
        "cases.WorkCalendar", verbose_name=_("calendar"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        help_text=_("The working calendar days are counted on (and whose time zone ends a "
                    "calendar day). Empty: the desk's default calendar."))
    starts_at = models.CharField(_("clock starts at"), max_length=12, choices=RegimeStart.choices,
                                 default=RegimeStart.RECEIPT)
    acceptance_days = models.PositiveSmallIntegerField(
        _("days to decide on acceptance"), null=True, blank=True,
        help_text=_("Counted from receipt; stops when the case is accepted (triaged). Empty: "
                    "no acceptance limit."))
    first_limit_days = models.PositiveSmallIntegerField(_("first limit (days)"))
    max_total_days = models.PositiveSmallIntegerField(
        _("maximum total (days)"), help_text=_("The first limit plus every approved extension "
                                               "may not exceed this."))
    channels = models.ManyToManyField(
        "channels.Channel", verbose_name=_("applies to intake channels"), blank=True,
        related_name="regimes")
    categories = models.JSONField(_("applies to categories"), default=list, blank=True)
    escalation = models.TextField(
        _("how to escalate (Chinese)"), blank=True,
        help_text=_("For the final-response letter of a case under this regime: the sector "
                    "regulator and its hotline, mediation, arbitration, court. Empty: the "
                    "letter template's text."))
    escalation_en = models.TextField(_("how to escalate (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("statutory regime")
        verbose_name_plural = _("statutory regimes")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RegimeExtensionStep(models.Model):
    """One extension a regime allows, in order, and the role that must approve it."""

    regime = models.ForeignKey(Regime, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"))
    days = models.PositiveSmallIntegerField(_("extends by (days)"))
    approver_role = models.CharField(_("approved by"), max_length=30, choices=APPROVER_ROLES,
                                     default=Role.SUPERVISOR)

    class Meta:
        ordering = ["regime", "position"]
        verbose_name = _("extension step")
        verbose_name_plural = _("extension steps")
        constraints = [models.UniqueConstraint(fields=["regime", "position"],
                                               name="regime_step_unique_position")]

    def __str__(self) -> str:
        return f"{self.regime.code} #{self.position}: +{self.days}"


class CaseRegime(models.Model):
    """The regime a case runs under. One case per (regime, regulator reference): a regulator's
    repeat forward of the same complaint finds the existing case."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="statutory")
    regime = models.ForeignKey(Regime, on_delete=models.PROTECT, related_name="cases")
    regulator_reference = models.CharField(_("regulator reference"), max_length=64, blank=True)
    regulator_due_at = models.DateTimeField(_("regulator's deadline"), null=True, blank=True)
    started_at = models.DateTimeField(_("statutory clock started"), null=True, blank=True)
    due_at = models.DateTimeField(_("statutory due"), null=True, blank=True)
    acceptance_due_at = models.DateTimeField(_("acceptance due"), null=True, blank=True)
    extended_days = models.PositiveSmallIntegerField(_("extended by (days)"), default=0)
    steps_used = models.PositiveSmallIntegerField(_("extensions approved"), default=0)
    deadline = models.ForeignKey("cases.CaseDeadline", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    acceptance_deadline = models.ForeignKey("cases.CaseDeadline", null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("case regime")
        verbose_name_plural = _("case regimes")
        constraints = [
            models.UniqueConstraint(
                fields=["regime", "regulator_reference"], condition=~Q(regulator_reference=""),
                name="case_regime_unique_regulator_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.regime.code}"


class ExtensionRequest(models.Model):
    """A handler's request to extend a case's statutory limit by the regime's next step."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="extensions")
    position = models.PositiveSmallIntegerField(_("step"))
    days = models.PositiveSmallIntegerField(_("days"))
    approver_role = models.CharField(_("approved by"), max_length=30, choices=APPROVER_ROLES)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=ExtensionStatus.choices,
                              default=ExtensionStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    due_before = models.DateTimeField(_("due before"), null=True, blank=True)
    due_after = models.DateTimeField(_("due after"), null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        indexes = [models.Index(fields=["status", "requested_at"], name="extension_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"),
                                    name="extension_one_pending_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.days} ({self.status})"
