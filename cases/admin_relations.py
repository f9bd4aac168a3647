"""Admin for case links and merges: read-only lists with search and filters. Both change
only through ``cases.services.merging`` (a merge moves messages and clocks and is undone on
the desk), never by hand. Imported by ``cases.admin``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.admin_base import ReadOnlyAdmin
from cases.models import CaseLink, CaseMerge


@admin.register(CaseLink)
class CaseLinkAdmin(ReadOnlyAdmin):
    list_display = ("from_case", "to_case", "kind", "created_by", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("from_case__reference", "to_case__reference", "created_by__username")
    list_select_related = ("from_case", "to_case", "created_by")
    date_hierarchy = "created_at"
    raw_id_fields = ("from_case", "to_case")


@admin.register(CaseMerge)
class CaseMergeAdmin(ReadOnlyAdmin):
    list_display = ("duplicate", "primary", "merged_by", "merged_at", "is_undone", "undone_by",
                    "undone_at")
    list_filter = (("undone_at", admin.EmptyFieldListFilter), "merged_at")
    search_fields = ("primary__reference", "duplicate__reference", "merged_by__username")
    list_select_related = ("primary", "duplicate", "merged_by", "undone_by")
    date_hierarchy = "merged_at"
    raw_id_fields = ("primary", "duplicate")

    @admin.display(description=_("undone"), boolean=True)
    def is_undone(self, obj: CaseMerge) -> bool:
        return obj.undone_at is not None
