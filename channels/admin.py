from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from channels.models import ApiKey, Channel, InboundMessage


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "label", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):  # issued by the action or `channel_key`
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description=_("Issue a new API key (shown once)"))
    def issue_key(self, request, queryset):
        for channel in queryset:
            _key, raw = ApiKey.issue(channel, label=f"admin {request.user.get_username()}")
            # Shown once, in this message; only the hash is stored.
            self.message_user(
                request,
                _("New API key for %(code)s (copy it now, it is not shown again): %(key)s")
                % {"code": channel.code, "key": raw},
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("channel", "prefix", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("channel", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "label", "channel__code")
    fields = ("channel", "prefix", "label", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("channel", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record of a key stays

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])  # signals drop the cached key at once
            count += 1
        self.message_user(request, ngettext("%(n)d key revoked.", "%(n)d keys revoked.",
                                            count) % {"n": count})


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "message_id", "outcome", "case")
    list_filter = ("outcome",)
    search_fields = ("message_id",)
    raw_id_fields = ("case",)
