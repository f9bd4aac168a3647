"""Django admin for operators. Stage and tier are read-only here: transitions are admin
actions that go through ``cases.services`` like every other caller."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

import cases.admin_routing  # noqa: F401  (registers the routing admin)
import cases.audit.admin  # noqa: F401  (registers the read-only audit trail)
from cases import services
from cases.admin_base import ReadOnlyAdmin
from cases.admin_calendars import ClockBasisInline
from cases.choices import Tier
from cases.models import (
    Alert,
    Case,
    CaseAttachment,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationNote,
    CollaborationRequest,
    CollaborationTodo,
    Compensation,
    ComplaintGroup,
    Customer,
    Department,
    DeskSettings,
    Notice,
    NoticeTemplate,
    Revisit,
    RootCause,
    SlaPolicy,
    User,
)
from cases.selectors.workspace import state_label, transition_label
from cases.services.audit import audit_personal_data_view
from cases.transition_labels import MACHINE_LABELS


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "department", "is_active", "is_staff")
    list_filter = ("groups", "is_active", "is_staff", "department")
    search_fields = ("username", "display_name", "email", "first_name", "last_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Desk"), {"fields": ("display_name", "department", "language", "time_zone")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "parent", "manager", "liaison", "is_active")
    list_filter = ("is_active", "parent")
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent", "manager", "liaison")
    list_select_related = ("parent", "manager", "liaison")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "email", "preferred_channel", "is_key_customer",
                    "created_at")
    list_filter = ("is_key_customer", "preferred_channel")
    search_fields = ("name", "phone", "email")
    readonly_fields = ("anonymised_at",)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        customer = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and customer is not None:
            audit_personal_data_view(actor=request.user, customer=customer,
                                     where="admin customer", fields=["name", "phone", "email"])
        return response

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        listing = (getattr(response, "context_data", None) or {}).get("cl")
        shown = list(listing.result_list) if listing is not None else []
        if shown:
            audit_personal_data_view(actor=request.user, customer=shown[0], rows=len(shown),
                                     where="admin customer list",
                                     fields=["name", "phone", "email"])
        return response


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("tier", "assign_minutes", "response_minutes", "solution_minutes",
                    "progress_minutes", "feedback_minutes", "revisit_minutes",
                    "follow_up_minutes", "department_minutes", "at_risk_ratio")
    inlines = (ClockBasisInline,)


@admin.register(DeskSettings)
class DeskSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "compensation_approval_threshold", "duplicate_window_hours",
                    "group_window_hours", "group_threshold")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DeskSettings.objects.exists()


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "name_en")


class TransitionLabels:
    """The timeline's names for a logged change instead of its stored codes (the desk's
    labels: ``triage``, ``in_progress`` and ``3`` read as the people using the desk say)."""

    @admin.display(description=_("machine"))
    def field_label(self, obj: CaseTransition) -> str:
        return str(MACHINE_LABELS.get(obj.field, obj.field))

    @admin.display(description=_("transition"))
    def name_label(self, obj: CaseTransition) -> str:
        return transition_label(obj.name)

    @admin.display(description=_("from"))
    def source_label(self, obj: CaseTransition) -> str:
        return state_label(obj.field, obj.source)

    @admin.display(description=_("to"))
    def target_label(self, obj: CaseTransition) -> str:
        return state_label(obj.field, obj.target)


class CaseTransitionInline(TransitionLabels, admin.TabularInline):
    model = CaseTransition
    extra = 0
    can_delete = False
    fields = ("at", "field_label", "name_label", "source_label", "target_label", "actor",
              "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseNoteInline(admin.TabularInline):
    model = CaseNote
    fk_name = "case"
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "author", "body", "visible_to_customer")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class RetierForm(ReasonForm):
    tier = forms.TypedChoiceField(
        label=_("New tier"), coerce=int,
        choices=[c for c in Tier.choices if c[0] != Tier.UNTRIAGED],
    )


class TransferForm(ReasonForm):
    new_owner = forms.ModelChoiceField(
        label=_("New owner"), queryset=User.objects.filter(
            is_active=True, groups__name__in=["frontline_agent", "senior_agent", "supervisor"]
        ).distinct(),
    )


def _run_with_form(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *,
    form_class: type[forms.Form], title: str, action: str, apply: Any,
) -> HttpResponse | None:
    """An admin action with an intermediate page asking for what the service needs; each case
    goes through the service, and refusals are reported per case."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            done = 0
            for case in queryset:
                try:
                    apply(case, form.cleaned_data)
                    done += 1
                except services.DomainError as exc:
                    modeladmin.message_user(request, f"{case}: {exc}", messages.ERROR)
            if done:
                modeladmin.message_user(
                    request, _("%(n)d case(s) updated.") % {"n": done}, messages.SUCCESS
                )
            return None
    else:
        form = form_class()
    return TemplateResponse(request, "admin/cases/case_action.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "form": form,
        "queryset": queryset, "action": action, "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    })


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("reference", "subject", "tier", "stage", "channel", "category", "owner",
                    "sla_state", "next_due_at", "received_at")
    list_filter = ("stage", "tier", "sla_state", "channel", "category", "urgency", "scope",
                   "customer__is_key_customer", "department", "retiered")
    search_fields = ("reference", "subject", "customer__name", "customer__phone",
                     "customer__email", "order_ref", "external_id")
    date_hierarchy = "received_at"
    list_select_related = ("owner", "customer")
    raw_id_fields = ("customer", "duplicate_of", "group", "source")
    autocomplete_fields = ("owner", "handler", "department")
    filter_horizontal = ("task_force",)
    readonly_fields = (
        "reference", "tracking_code", "stage", "tier", "retiered", "reopen_count", "owner",
        "handler", "assign_due_at", "assigned_at", "response_due_at", "first_responded_at",
        "solution_due_at", "resolved_at", "progress_due_at", "last_progress_at",
        "feedback_due_at", "feedback_given_at", "revisit_due_at", "revisit_done_at",
        "follow_up_due_at", "follow_up_done_at", "closed_at", "next_due_at", "next_risk_at",
        "sla_state",
        "ever_breached", "response_breached", "satisfaction_score", "satisfied", "version",
        "created_at", "updated_at", "anonymised_at",
    )
    inlines = [CaseTransitionInline, CaseNoteInline]
    actions = ["retier_action", "transfer_action", "invalidate_action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases come in through the intake channels (desk form, web, API, email, import).
        return False

    @admin.action(description=_("Re-tier selected cases (supervisor)"))
    def retier_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _run_with_form(
            self, request, queryset, form_class=RetierForm, title=_("Re-tier cases"),
            action="retier_action",
            apply=lambda case, data: services.case_retier(
                actor=request.user, case_id=case.pk, tier=data["tier"], reason=data["reason"]
            ),
        )

    @admin.action(description=_("Transfer ownership of selected cases (supervisor)"))
    def transfer_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _run_with_form(
            self, request, queryset, form_class=TransferForm, title=_("Transfer ownership"),
            action="transfer_action",
            apply=lambda case, data: services.case_transfer_ownership(
                actor=request.user, case_id=case.pk, new_owner=data["new_owner"],
                reason=data["reason"],
            ),
        )

    @admin.action(description=_("Close selected cases as invalid / withdrawn"))
    def invalidate_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _run_with_form(
            self, request, queryset, form_class=ReasonForm, title=_("Close as invalid"),
            action="invalidate_action",
            apply=lambda case, data: services.case_invalidate(
                actor=request.user, case_id=case.pk, reason=data["reason"]
            ),
        )


@admin.register(CaseTransition)
class CaseTransitionAdmin(TransitionLabels, ReadOnlyAdmin):
    list_display = ("at", "case", "field_label", "name_label", "source_label", "target_label",
                    "actor")
    list_filter = ("field", "name")
    search_fields = ("case__reference", "note")
    list_select_related = ("case", "actor")
    date_hierarchy = "at"


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "author", "visible_to_customer")
    list_filter = ("kind", "visible_to_customer")
    search_fields = ("case__reference", "body")
    list_select_related = ("case", "author")


@admin.register(Compensation)
class CompensationAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "amount", "status", "proposed_by", "decided_by",
                    "created_at")
    list_filter = ("status", "kind")
    search_fields = ("case__reference", "description")
    list_select_related = ("case", "proposed_by", "decided_by")


@admin.register(CaseDeadline)
class CaseDeadlineAdmin(ReadOnlyAdmin):
    list_display = ("case", "clock", "started_at", "due_at", "stopped_at", "state")
    list_filter = ("clock", "state")
    search_fields = ("case__reference",)
    list_select_related = ("case",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "case", "read_at")
    list_filter = ("kind",)
    list_select_related = ("recipient", "case")


@admin.register(CaseAttachment)
class CaseAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "case", "content_type", "size", "uploaded_at")
    search_fields = ("original_name", "case__reference")
    list_select_related = ("case",)


@admin.register(ComplaintGroup)
class ComplaintGroupAdmin(ReadOnlyAdmin):
    list_display = ("matter", "category", "case_count", "first_received_at", "last_received_at")
    list_filter = ("category",)
    search_fields = ("matter", "key")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The outbox: every customer notice and staff alert email with its delivery state. Rows
    are written by services and moved by workers; an operator with ``cases.decide_notice``
    sends a failed or uncertain notice again, or marks an uncertain one as delivered."""

    list_display = ("created_at", "case", "kind", "channel", "language", "status", "attempts",
                    "sent_at", "short_error")
    list_filter = ("status", "kind", "channel", "language")
    search_fields = ("case__reference", "idempotency_key")
    date_hierarchy = "created_at"
    list_select_related = ("case",)
    actions = ["resend_action", "mark_delivered_action"]
    fields = ("case", "kind", "channel", "recipient", "language", "status", "attempts",
              "created_at", "next_attempt_at", "sending_started_at", "sent_at", "last_error",
              "decided_by", "decided_at", "idempotency_key", "subject", "body")
    readonly_fields = fields

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.decide_notice")

    @admin.display(description=_("last error"))
    def short_error(self, obj: Notice) -> str:
        return (obj.last_error[:60] + "…") if len(obj.last_error) > 60 else obj.last_error

    def _decide(self, request: HttpRequest, queryset: QuerySet, service: Any, done_text: str,
                ) -> None:
        done = 0
        for notice_id in queryset.values_list("pk", flat=True):
            try:
                service(actor=request.user, notice_id=notice_id)
                done += 1
            except services.DomainError as exc:
                self.message_user(request, f"{notice_id}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, done_text % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Send selected failed or uncertain notices again"),
                  permissions=["decide"])
    def resend_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        from cases.services.outbox import notice_resend

        self._decide(request, queryset, notice_resend, _("%(n)d notice(s) queued again."))

    @admin.action(description=_("Mark selected uncertain notices as delivered"),
                  permissions=["decide"])
    def mark_delivered_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        from cases.services.outbox import notice_mark_delivered

        self._decide(request, queryset, notice_mark_delivered,
                     _("%(n)d notice(s) marked as delivered."))


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ("kind", "channel", "language", "subject", "body")

    def clean(self) -> dict[str, Any]:
        from cases.notice_texts import template_problems

        data = super().clean()
        kind = data.get("kind")
        if kind:
            for field in ("subject", "body"):
                problems = template_problems(kind, data.get(field) or "")
                if problems:
                    self.add_error(field, problems)
        return data


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    """Texts per notice kind x channel x language, with the placeholders each kind offers and
    a preview filled with sample values (save and continue editing to see a change)."""

    form = NoticeTemplateForm
    list_display = ("kind", "channel", "language", "subject")
    list_filter = ("kind", "channel", "language")
    search_fields = ("subject", "body")
    fields = ("kind", "channel", "language", "subject", "body", "placeholders", "preview")
    readonly_fields = ("placeholders", "preview")

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj: NoticeTemplate | None) -> str:
        from django.utils.html import format_html_join

        from cases.notice_texts import PLACEHOLDER_HELP, PLACEHOLDERS

        if obj is None or not obj.kind:
            return _("Save once to see the placeholders of the chosen kind.")
        return format_html_join(
            "", "<div><code>{{{}}}</code> {}</div>",
            ((name, PLACEHOLDER_HELP.get(name, "")) for name in PLACEHOLDERS.get(obj.kind, ())),
        )

    @admin.display(description=_("preview (sample values)"))
    def preview(self, obj: NoticeTemplate | None) -> str:
        from django.utils.html import format_html

        from cases.notice_texts import TemplateSyntaxProblem, render_preview

        if obj is None or not obj.pk:
            return "-"
        try:
            subject, body = render_preview(obj)
        except (TemplateSyntaxProblem, ValueError) as exc:
            return format_html('<span class="errornote">{}</span>', str(exc))
        return format_html(
            '<div style="max-width:48rem"><strong>{}</strong>'
            '<pre style="white-space:pre-wrap;font-family:inherit;margin-top:.5rem">{}</pre>'
            "<small>{}</small></div>",
            subject, body, _("%(n)d characters") % {"n": len(body)},
        )


@admin.register(Revisit)
class RevisitAdmin(ReadOnlyAdmin):
    list_display = ("case", "round", "due_at", "opened_at", "answered_at", "method", "score")
    list_filter = ("method", "score")
    search_fields = ("case__reference",)
    list_select_related = ("case",)


class TodoInline(admin.TabularInline):
    model = CollaborationTodo
    extra = 0


@admin.register(CollaborationRequest)
class CollaborationRequestAdmin(admin.ModelAdmin):
    list_display = ("case", "department", "status", "requested_by", "due_at", "created_at")
    list_filter = ("status", "department")
    search_fields = ("case__reference", "ask", "plan")
    readonly_fields = ("status",)
    raw_id_fields = ("case",)
    list_select_related = ("case", "department", "requested_by")
    inlines = [TodoInline]


@admin.register(CollaborationNote)
class CollaborationNoteAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "author")
    list_select_related = ("request", "author")

# The admins of the lifecycle, macro, pause, relation and statutory models register
# themselves on import.
from cases import (  # noqa: E402, F401
    admin_lifecycle,
    admin_macros,
    admin_pauses,
    admin_relations,
    admin_statutory,
)
