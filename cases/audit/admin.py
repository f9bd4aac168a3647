"""The audit trail in the Django admin: read-only (no add, change or delete, also not via
actions), searchable, with each entry's changes and hashes shown."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from cases.admin_base import ReadOnlyAdmin
from cases.audit.history import change_lines
from cases.models.audit import AuditAction, AuditEntry


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(AuditAction.choices)

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "who", "action_label", "target_type", "target_id",
                    "target_repr", "case_id")
    list_filter = (ActionFilter, "target_type", "at")
    search_fields = ("=target_id", "=case_id", "actor_name", "=seq")
    date_hierarchy = "at"
    actions = None
    fields = ("seq", "at", "actor_id", "actor_name", "action_label", "target_type", "target_id",
              "target_repr", "case_id", "change_list", "detail_json", "prev_hash", "hash")
    readonly_fields = fields
    show_full_result_count = False  # COUNT(*) over millions of rows on every page

    @admin.display(description=_("who"), ordering="actor_name")
    def who(self, obj: AuditEntry) -> str:
        return obj.actor_name or str(_("system"))

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj: AuditEntry) -> str:
        return obj.get_action_display()

    @admin.display(description=_("changes"))
    def change_list(self, obj: AuditEntry) -> str:
        return format_html_join("", "<div><b>{}</b>: {} → {}</div>",
                                ((line.field, line.old, line.new) for line in change_lines(obj)))

    @admin.display(description=_("detail"))
    def detail_json(self, obj: AuditEntry) -> str:
        return json.dumps(obj.detail, ensure_ascii=False, sort_keys=True)
