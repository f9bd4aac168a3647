"""Admin: KPI targets (admins edit the numbers), weekly reviews (read-only snapshots) and
improvement actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from reporting.kpis import KPI_BY_CODE
from reporting.models import ImprovementAction, KpiTarget, WeeklyReview


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = ("label", "direction", "target", "updated_at")
    list_editable = ("target",)
    readonly_fields = ("code", "direction", "definition", "updated_at")
    fields = ("code", "direction", "target", "definition", "updated_at")

    @admin.display(description=_("KPI"))
    def label(self, obj: KpiTarget) -> str:
        return str(obj)

    @admin.display(description=_("definition"))
    def definition(self, obj: KpiTarget) -> str:
        kpi = KPI_BY_CODE.get(obj.code)
        return str(kpi.definition) if kpi else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per KPI, seeded by a migration

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImprovementActionInline(admin.TabularInline):
    model = ImprovementAction
    extra = 0
    fields = ("action", "owner", "due_date", "status")
    raw_id_fields = ("owner",)
    show_change_link = True


@admin.register(WeeklyReview)
class WeeklyReviewAdmin(admin.ModelAdmin):
    list_display = ("week_start", "built_at", "built_by")
    readonly_fields = ("week_start", "period_start", "period_end", "time_zone", "built_at",
                       "built_by", "data")
    inlines = [ImprovementActionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # built by the Monday task or a supervisor's button, never by hand


@admin.register(ImprovementAction)
class ImprovementActionAdmin(admin.ModelAdmin):
    list_display = ("action", "owner", "due_date", "status", "review")
    list_filter = ("status",)
    search_fields = ("action", "progress_note")
    raw_id_fields = ("owner", "created_by", "review", "cases")
    date_hierarchy = "due_date"
