from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Complaint cases")

    def ready(self) -> None:
        from cases import auth_backend
        from cases.audit import capture
        from cases.services import desk_config, live
        from cases.worktime import calendars

        auth_backend.connect_signals()
        desk_config.connect_signals()
        calendars.connect_signals()
        capture.connect_signals()
        live.connect_signals()
