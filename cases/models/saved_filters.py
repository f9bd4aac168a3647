"""A user's named filter sets of the desk's case list."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedFilter(models.Model):
    """A named filter set of the desk list, private to its owner.

    ``query`` is the list's query string as the desk builds it (only the list's own filter
    parameters, normalised by ``cases.services.saved_filters``), so applying one is a redirect
    to ``/desk/cases/?<query>``: the filters are re-validated on every use, and a filter that
    refers to something gone (a department deleted since) is ignored like any bad value."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters",
        db_index=False,  # served by the unique (owner, name) index
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_filter_owner_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name
