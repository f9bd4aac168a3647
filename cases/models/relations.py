"""How cases relate to each other: group complaints (formed by intake's detection, managed
on the desk), links between related cases, merges of a duplicate into a primary case
(undoable), and splits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cases.choices import Category


class ComplaintGroup(models.Model):
    """Many cases on the same matter in a short window: a group complaint 群体性投诉."""

    key = models.CharField(_("matter key"), max_length=200, db_index=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    matter = models.CharField(_("matter"), max_length=150)
    first_received_at = models.DateTimeField(_("first case received"))
    last_received_at = models.DateTimeField(_("last case received"))
    case_count = models.PositiveIntegerField(_("cases"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_received_at"]
        verbose_name = _("group complaint")
        verbose_name_plural = _("group complaints")

    def __str__(self) -> str:
        return f"{self.get_category_display()} / {self.matter} ({self.case_count})"


class LinkKind(models.TextChoices):
    RELATED = "related", _("Related")
    # ``to_case`` was split off ``from_case`` (cases.services.splitting).
    SPLIT = "split", _("Split off")


class CaseLink(models.Model):
    """Two related cases. Stored once per pair; both cases show it (``links_of``)."""

    from_case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # case_link_pair leads with it
    to_case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices,
                            default=LinkKind.RELATED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("linked at"))

    class Meta:
        verbose_name = _("case link")
        verbose_name_plural = _("case links")
        constraints = [
            models.UniqueConstraint(fields=["from_case", "to_case"], name="case_link_pair"),
            models.CheckConstraint(condition=~Q(from_case=F("to_case")),
                                   name="case_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.from_case_id} - {self.to_case_id}"


class CaseMerge(models.Model):
    """A duplicate merged into a primary case: what moved and what the duplicate was before,
    so that the merge can be undone (``cases.services.merging``)."""

    primary = models.ForeignKey("cases.Case", verbose_name=_("primary case"),
                                on_delete=models.CASCADE, related_name="merges_in")
    duplicate = models.ForeignKey("cases.Case", verbose_name=_("merged case"),
                                  on_delete=models.CASCADE, related_name="merges_out")
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("merged by"),
                                  on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(_("merged at"))
    # The duplicate's state before the merge (stage, closing fields, duplicate_of) and the
    # ids of what moved (notes, attachments) or stopped (its running clocks).
    snapshot = models.JSONField(_("state before the merge"), default=dict)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("undone by"),
                                  null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("case merge")
        verbose_name_plural = _("case merges")
        constraints = [
            # At most one live merge per duplicate.
            models.UniqueConstraint(fields=["duplicate"], condition=Q(undone_at__isnull=True),
                                    name="case_merge_one_live"),
        ]

    def __str__(self) -> str:
        return f"{self.duplicate_id} -> {self.primary_id}"
