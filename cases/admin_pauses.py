"""Admin for pause reasons (editable) and pauses (read-only: they change through
``cases.services.pauses``). Imported by ``cases.admin``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cases.admin_base import ReadOnlyAdmin
from cases.choices import Clock
from cases.models import CasePause, PauseReason
from cases.models.pauses import PAUSABLE_CLOCKS


class PauseReasonForm(forms.ModelForm):
    """``clocks`` as check boxes of the clocks a pause may stop (stored as a JSON list)."""

    clocks = forms.MultipleChoiceField(
        label=_("clocks it stops"), widget=forms.CheckboxSelectMultiple,
        choices=[(c, Clock(c).label) for c in PAUSABLE_CLOCKS],
        help_text=_("The department's answer to a collaboration request is never paused."),
    )

    class Meta:
        model = PauseReason
        fields = ["code", "name", "name_en", "max_days", "clocks", "requires_evidence",
                  "resumes_on_customer_reply", "active", "order"]


@admin.register(PauseReason)
class PauseReasonAdmin(admin.ModelAdmin):
    form = PauseReasonForm
    list_display = ("code", "name", "name_en", "max_days", "clock_list", "requires_evidence",
                    "resumes_on_customer_reply", "active", "order")
    list_filter = ("active", "requires_evidence")
    search_fields = ("code", "name", "name_en")

    @admin.display(description=_("clocks it stops"))
    def clock_list(self, obj: PauseReason) -> str:
        return ", ".join(obj.clock_labels())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A reason in use is history: deactivate it instead.
        return super().has_delete_permission(request, obj) and not (
            obj is not None and obj.pauses.exists())


@admin.register(CasePause)
class CasePauseAdmin(ReadOnlyAdmin):
    list_display = ("case", "reason", "started_at", "started_by", "resume_by", "ended_at",
                    "ended_how")
    list_filter = ("reason", "ended_how")
    search_fields = ("case__reference",)
    list_select_related = ("case", "reason", "started_by")
    raw_id_fields = ("case", "evidence")
