"""Admin of automatic routing: the rules and each agent's routing profile (skills, away)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.choices import Category
from cases.models import AgentProfile, RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "order", "tier", "category", "pool_role",
                    "pool_department", "require_skill", "method", "max_load")
    list_editable = ("active", "order")
    list_filter = ("active", "method", "tier", "category")
    fieldsets = (
        (None, {"fields": ("name", "active", "order", "tier", "category")}),
        (_("Pool"), {"fields": ("pool_role", "pool_department", "require_skill")}),
        (_("Method"), {"fields": ("method", "max_load", "weight_tier1", "weight_tier2",
                               "weight_tier3")}),
    )


class AgentProfileForm(forms.ModelForm):
    skills = forms.MultipleChoiceField(choices=Category.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = AgentProfile
        fields = ("user", "away", "skills")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    form = AgentProfileForm
    list_display = ("user", "away", "away_since", "skills")
    list_filter = ("away",)
    search_fields = ("user__username", "user__display_name")
    autocomplete_fields = ("user",)
