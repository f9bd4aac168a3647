"""Webhook endpoints (configured through the services, so the rules hold for every path) and
their deliveries (read-only: status, attempts, response code, last error; "send again")."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cases.services.errors import DomainError, InvalidInput
from channels.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from channels.webhooks.services.endpoints import (
    delivery_mark_delivered,
    delivery_resend,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
    webhook_events_validate,
    webhook_url_validate,
)


class WebhookEndpointForm(forms.ModelForm):
    # A plain text field, so that the service's message (not Django's generic one) explains
    # what is wrong with an address.
    url = forms.CharField(label=_("URL"), max_length=500)
    events = forms.MultipleChoiceField(label=_("subscribed events"),
                                       choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "is_active", "disable_after_failures",
                  "receiver_dedupes")

    def clean_url(self) -> str:
        try:
            return webhook_url_validate(self.cleaned_data["url"])
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_events(self) -> list[str]:
        try:
            return webhook_events_validate(self.cleaned_data["events"])
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from exc


def _shown_once(request, endpoint: WebhookEndpoint, admin_site: admin.ModelAdmin) -> None:
    admin_site.message_user(
        request,
        _("Signing secret for %(endpoint)s (copy it now, it is not shown again): %(secret)s")
        % {"endpoint": endpoint, "secret": endpoint.secret},
        messages.WARNING,
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("__str__", "url", "is_active", "consecutive_failures",
                    "disable_after_failures", "disabled_at", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret_hint", "consecutive_failures", "disabled_at", "created_at",
                       "secret_rotated_at")
    actions = ["send_test_event", "rotate_secret"]

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: WebhookEndpoint) -> str:
        return f"{obj.secret[:10]}…" if obj.secret else "—"

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in
                ("url", "description", "events", "is_active", "disable_after_failures",
                 "receiver_dedupes")}
        if change:
            saved = endpoint_update(actor=request.user, endpoint_id=obj.pk, **data)
        else:
            saved = endpoint_create(actor=request.user, **data)
            _shown_once(request, saved, self)
        obj.pk, obj.secret = saved.pk, saved.secret
        obj.consecutive_failures, obj.disabled_at = saved.consecutive_failures, saved.disabled_at

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            try:
                endpoint_send_test(actor=request.user, endpoint_id=endpoint.pk)
            except DomainError as exc:
                self.message_user(request, f"{endpoint}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("Test event queued for %(endpoint)s.")
                                  % {"endpoint": endpoint})

    @admin.action(description=_("Rotate the signing secret (shown once)"))
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            try:
                rotated = endpoint_rotate_secret(actor=request.user, endpoint_id=endpoint.pk)
            except DomainError as exc:
                self.message_user(request, f"{endpoint}: {exc}", messages.ERROR)
            else:
                _shown_once(request, rotated, self)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event_type", "endpoint", "case", "status", "attempts",
                    "response_code", "sent_at", "error_excerpt")
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint", "case")
    search_fields = ("event_key", "case__reference")
    date_hierarchy = "created_at"
    readonly_fields = ("webhook_id", "endpoint", "event_type", "event_key", "case", "payload",
                       "status", "attempts", "response_code", "last_error", "created_at",
                       "next_attempt_at", "sending_started_at", "sent_at")
    fields = readonly_fields
    actions = ["send_again", "mark_delivered"]

    @admin.display(description="webhook-id")
    def webhook_id(self, obj: WebhookDelivery) -> str:
        return obj.message_id

    @admin.display(description=_("last error"))
    def error_excerpt(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, service) -> int:
        done = 0
        for delivery in queryset:
            try:
                service(actor=request.user, delivery_id=str(delivery.pk))
            except DomainError as exc:
                self.message_user(request, f"{delivery.message_id}: {exc}", messages.ERROR)
            else:
                done += 1
        return done

    @admin.action(description=_("Send again"), permissions=["view"])
    def send_again(self, request, queryset):
        if sent := self._each(request, queryset, delivery_resend):
            self.message_user(request, ngettext("%(count)s delivery queued again.",
                                                "%(count)s deliveries queued again.", sent)
                              % {"count": sent})

    @admin.action(description=_("Mark as delivered"), permissions=["view"])
    def mark_delivered(self, request, queryset):
        if done := self._each(request, queryset, delivery_mark_delivered):
            self.message_user(request, ngettext("%(count)s delivery marked as delivered.",
                                                "%(count)s deliveries marked as delivered.",
                                                done) % {"count": done})
