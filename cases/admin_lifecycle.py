"""Django admin of the personal-data lifecycle: retention rules (admins), legal holds
(supervisors and admins) and erasure requests (recorded by staff, carried out by a
supervisor). Writes go through ``cases.services.retention``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.models import ErasureRequest, ErasureStatus, LegalHold, RetentionRule
from cases.services import DomainError
from cases.services import retention as lifecycle


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "category", "months", "updated_at")


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("case", "reason", "until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "case" in data:
            problem = lifecycle.legal_hold_problem(
                case=data["case"], reason=data.get("reason") or "", until=data.get("until"),
                now=timezone.now())
            if problem is not None:
                self.add_error(problem[0], problem[1])
        return data


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    """A hold is set with a reason (and an end, or until lifted) and lifted by the action;
    it is never edited or deleted, so the record of who held what stays."""

    list_display = ("case", "set_by", "set_at", "until", "lifted_by", "lifted_at")
    list_filter = ("lifted_at",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "set_by", "lifted_by")
    raw_id_fields = ("case",)
    fields = ("case", "reason", "until", "set_by", "set_at", "lifted_by", "lifted_at")
    readonly_fields = ("set_by", "set_at", "lifted_by", "lifted_at")
    actions = ["lift_action"]
    form = LegalHoldForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return perms.can_manage_legal_holds(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and perms.can_manage_legal_holds(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return perms.can_manage_legal_holds(request.user)

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        hold = lifecycle.legal_hold_set(actor=request.user, case_id=obj.case_id,
                                        reason=obj.reason, until=obj.until)
        obj.pk = hold.pk

    @admin.action(description=_("Lift the selected legal holds"), permissions=["lift"])
    def lift_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for hold_id in queryset.values_list("pk", flat=True):
            lifecycle.legal_hold_lift(actor=request.user, hold_id=hold_id)
        self.message_user(request, _("Legal holds lifted."), messages.SUCCESS)


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    """Staff record a request; a supervisor carries it out (or it is refused with the reason)
    with the action. A request is never deleted: it is the proof (it holds no personal data
    once done)."""

    list_display = ("__str__", "customer_id", "received_at", "status", "decided_by",
                    "decided_at", "cases_erased")
    list_filter = ("status",)
    list_select_related = ("decided_by",)
    raw_id_fields = ("customer",)
    fields = ("customer", "received_at", "received_via", "note", "recorded_by", "status",
              "decided_by", "decided_at", "outcome", "cases_erased")
    readonly_fields = ("recorded_by", "status", "decided_by", "decided_at", "outcome",
                       "cases_erased")
    actions = ["carry_out_action"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return perms.can_handle_erasure(request.user)

    def save_model(self, request: HttpRequest, obj: ErasureRequest, form: Any,
                   change: bool) -> None:
        if change:
            return
        saved = lifecycle.erasure_request_record(
            actor=request.user, customer_id=obj.customer_id, received_at=obj.received_at,
            received_via=obj.received_via, note=obj.note,
        )
        obj.pk = saved.pk

    @admin.action(description=_("Carry out the selected erasure requests (supervisor)"),
                  permissions=["erase"])
    def carry_out_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for request_id in queryset.values_list("pk", flat=True):
            try:
                done = lifecycle.erasure_request_carry_out(actor=request.user,
                                                           request_id=request_id)
            except DomainError as exc:
                self.message_user(request, f"{request_id}: {exc}", messages.ERROR)
                continue
            level = messages.SUCCESS if done.status == ErasureStatus.DONE else messages.ERROR
            self.message_user(request, f"{done}: {done.outcome}", level)
