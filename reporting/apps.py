from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_kpi_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from reporting.summaries import install_triggers

    install_triggers(using)


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        # After every migrate: creates the triggers that keep the KPI day sums exact, and
        # recreates them where a migration rebuilt a cases table (SQLite drops its triggers).
        post_migrate.connect(_install_kpi_triggers, sender=self,
                             dispatch_uid="reporting.install_kpi_triggers")
