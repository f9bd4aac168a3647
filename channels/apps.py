from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "channels"
    label = "channels"
    verbose_name = _("Intake channels")

    def ready(self) -> None:
        from channels import api

        api.connect_signals()
