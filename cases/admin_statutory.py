"""Admin of the statutory regimes (edited by operators, each described with its source) and
the record of case regimes and extension requests (written by services, read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.admin_base import ReadOnlyAdmin
from cases.choices import Category
from cases.models import CaseRegime, ExtensionRequest, Regime, RegimeExtensionStep
from cases.services.statutory import days_label


class RegimeForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("applies to categories"), choices=Category.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cases of these categories run under this regime unless one is chosen at "
                    "intake or their intake channel names another."))

    class Meta:
        model = Regime
        fields = ["code", "name", "name_en", "is_active", "source", "description", "basis",
                  "calendar", "starts_at", "acceptance_days", "first_limit_days",
                  "max_total_days", "channels", "categories", "escalation", "escalation_en"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, maximum = data.get("first_limit_days"), data.get("max_total_days")
        if first is not None and first < 1:
            self.add_error("first_limit_days", _("The first limit is at least one day."))
        if first is not None and maximum is not None and maximum < first:
            self.add_error("max_total_days",
                           _("The maximum total cannot be shorter than the first limit."))
        return data


class RegimeExtensionStepInline(admin.TabularInline):
    model = RegimeExtensionStep
    extra = 0
    ordering = ("position",)


@admin.register(Regime)
class RegimeAdmin(admin.ModelAdmin):
    form = RegimeForm
    list_display = ("code", "name", "name_en", "limit", "starts_at", "max_total_days",
                    "is_active", "source")
    list_filter = ("basis", "starts_at", "is_active")
    search_fields = ("code", "name", "name_en", "source")
    filter_horizontal = ("channels",)
    inlines = [RegimeExtensionStepInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "is_active")}),
        (_("Source"), {"fields": ("source", "description")}),
        (_("Limits"), {"fields": ("basis", "calendar", "starts_at", "acceptance_days",
                                  "first_limit_days", "max_total_days")}),
        (_("Applies to"), {"fields": ("channels", "categories")}),
        (_("Final-response letter"), {"fields": ("escalation", "escalation_en")}),
    )

    @admin.display(description=_("first limit"))
    def limit(self, obj: Regime) -> str:
        return days_label(obj.first_limit_days, obj.basis)


@admin.register(CaseRegime)
class CaseRegimeAdmin(ReadOnlyAdmin):
    list_display = ("case", "regime", "regulator_reference", "regulator_due_at", "due_at",
                    "extended_days")
    list_select_related = ("case", "regime")
    list_filter = ("regime",)
    search_fields = ("case__reference", "regulator_reference")


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("case", "position", "days", "approver_role", "status", "requested_by",
                    "requested_at", "decided_by", "decided_at")
    list_select_related = ("case", "requested_by", "decided_by")
    list_filter = ("status", "approver_role")
    search_fields = ("case__reference",)
