"""Files on a case: with the complaint, on a note or reply, or shared with a department."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseAttachment(models.Model):
    """A file sent with a complaint. Stored privately under a random name; served only through
    an authenticated view as a download, never inline."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    # Added after intake (intake files have neither): on a note or reply, or shared with one
    # department's request (cases.selectors.attachments decides who downloads what).
    note = models.ForeignKey("cases.CaseNote", verbose_name=_("note"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="files")
    request = models.ForeignKey(
        "cases.CollaborationRequest", verbose_name=_("department request"), null=True,
        blank=True, on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    # Moved here from another case by a merge or a split.
    moved_from = models.ForeignKey(
        "cases.Case", verbose_name=_("moved from"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", db_index=False,
    )

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name
