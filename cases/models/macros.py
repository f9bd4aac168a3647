"""Canned replies (macros): admin-written texts an agent inserts into a reply, in the
customer's language, optionally limited to categories and stages, optionally recording one
action with the reply."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class MacroAction(models.TextChoices):
    NONE = "", _("No action")
    REQUEST_MATERIALS = "request_materials", _("Request materials (pause the case)")
    MATERIALS_RECEIVED = "materials_received", _("Materials received (resume the case)")
    PROGRESS = "progress", _("Count as the progress update")


class Macro(models.Model):
    """A canned reply. ``body`` and ``body_en`` use the placeholders of
    ``cases.services.macros.PLACEHOLDERS`` (checked by the admin form). Empty ``categories`` /
    ``stages`` (JSON lists of Category / Stage values): it applies to every case.
    ``pause_reason``: the reason a "request materials" macro pauses the case with (one that
    waits on the customer)."""

    title = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    body = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    categories = models.JSONField(_("only for categories"), default=list, blank=True)
    stages = models.JSONField(_("only at stages"), default=list, blank=True)
    action = models.CharField(_("action recorded with the reply"), max_length=20,
                              choices=MacroAction.choices, default=MacroAction.NONE,
                              blank=True)
    pause_reason = models.ForeignKey(
        "cases.PauseReason", verbose_name=_("pause reason"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        help_text=_("For “request materials”: a reason that waits on the customer."))
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The title in the active language (Chinese unless English is active)."""
        language = (get_language() or "zh-hans").lower()
        return self.title_en if language.startswith("en") and self.title_en else self.title

    def text_for(self, language: str) -> str:
        return self.body_en if (language or "").lower().startswith("en") else self.body

    def applies_to(self, category: str, stage: str) -> bool:
        return (not self.categories or category in self.categories) and (
            not self.stages or stage in self.stages)
