"""The final-response letter 答复函: its admin template and the letters sent, kept as sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LetterMode(models.TextChoices):
    OFF = "off", _("Not used: feedback is a message")
    OPTIONAL = "optional", _("Optional: a message or a letter")
    REQUIRED = "required", _("Required: feedback is always a letter")


class LetterTemplate(models.Model):
    """The letter's text in both languages with its required parts as placeholders
    (``cases.services.letters.REQUIRED_PARTS``), the default way to escalate and the desk's
    contact. The newest active template is used; ``version`` grows with every edit and is
    stored with each letter sent."""

    name = models.CharField(_("name"), max_length=100)
    subject = models.CharField(_("subject (Chinese)"), max_length=150)
    subject_en = models.CharField(_("subject (English)"), max_length=150)
    body = models.TextField(_("letter (Chinese)"))
    body_en = models.TextField(_("letter (English)"))
    escalation = models.TextField(
        _("how to escalate (Chinese)"),
        help_text=_("The 12315 hotline or the sector regulator, mediation, arbitration, court. "
                    "A statutory regime's own text replaces it for the cases under it."))
    escalation_en = models.TextField(_("how to escalate (English)"))
    contact = models.TextField(_("desk contact (Chinese)"))
    contact_en = models.TextField(_("desk contact (English)"))
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-is_active", "-updated_at", "-id"]
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class FinalLetter(models.Model):
    """A letter as it was sent: written once by ``cases.services.letters.letter_send`` and
    never changed (the admin shows it read-only)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE,
                             related_name="final_letters")
    round = models.PositiveSmallIntegerField(_("feedback round"))
    language = models.CharField(_("language"), max_length=10)
    template = models.ForeignKey(LetterTemplate, verbose_name=_("template"), null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    template_version = models.PositiveIntegerField(_("template version"))
    subject = models.CharField(_("subject"), max_length=200)
    text = models.TextField(_("letter as sent"))
    parts = models.JSONField(_("parts"), default=dict)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sent by"),
                                on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("sent"))
    notice = models.ForeignKey("cases.Notice", verbose_name=_("notice"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["sent_at", "id"]
        verbose_name = _("final-response letter")
        verbose_name_plural = _("final-response letters")
        constraints = [models.UniqueConstraint(fields=["case", "round"],
                                               name="letter_once_per_round")]

    def __str__(self) -> str:
        return f"{self.case_id} #{self.round}"
