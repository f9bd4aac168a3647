from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_sqlite_kpi_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from reporting.summaries.triggers import install_sqlite

    install_sqlite(using)


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        # SQLite only (PostgreSQL gets the KPI queue triggers from migrations): SQLite drops a
        # table's triggers when a migration rebuilds it, so they are recreated after every
        # migrate, with the columns the KPIs read now.
        post_migrate.connect(_install_sqlite_kpi_triggers, sender=self,
                             dispatch_uid="reporting.install_kpi_triggers")
