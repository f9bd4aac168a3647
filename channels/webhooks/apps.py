from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "channels.webhooks"
    label = "webhooks"
    verbose_name = _("Outbound webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from channels.webhooks.services.subscriptions import connect_signals

        connect_signals()
