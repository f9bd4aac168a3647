"""python manage.py kpi_trigger_migration [--check]: write the reporting migration that
installs the KPI queue triggers on PostgreSQL for the columns the KPIs read now, or (with
``--check``) fail when the latest one no longer matches them, like ``makemigrations
--check``."""

from __future__ import annotations

import importlib
import pprint
from pathlib import Path
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.loader import MigrationLoader

import reporting.migrations
from reporting.summaries import triggers
from reporting.summaries.watched import watched_columns

TEMPLATE = '''"""The KPI queue triggers on the cases tables, PostgreSQL only (SQLite: reporting.apps
installs them after every migrate). Written by ``python manage.py kpi_trigger_migration`` for
the columns the KPI fact queries read (reporting.summaries.watched); the test suite fails
when the KPIs read other columns than the latest such migration installs."""

from django.db import migrations

WATCHED = {watched}

FORWARD = [
{forward}
]

REVERSE = [
{reverse}
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in REVERSE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "{previous}"),
        ("cases", "{cases}"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
'''


def trigger_migrations() -> list[ModuleType]:
    """The reporting migrations that install the queue triggers (they define FORWARD), in
    order."""
    folder = Path(reporting.migrations.__file__).parent
    names = sorted(p.stem for p in folder.glob("[0-9]*.py"))
    modules = [importlib.import_module(f"reporting.migrations.{n}") for n in names]
    return [m for m in modules if hasattr(m, "FORWARD")]


def current_sql() -> list[str]:
    """The statements the KPI queue triggers need for the columns the KPIs read now."""
    return triggers.postgresql_sql(watched_columns())


def _literal(statements: list[str]) -> str:
    return "\n".join(f'    """{sql}""",' for sql in statements)


class Command(BaseCommand):
    help = ("Write a reporting migration installing the KPI queue triggers for the columns "
            "the KPIs read now (--check: only fail when the latest one differs).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="Exit with an error when a new migration is needed.")

    def handle(self, *args: Any, **options: Any) -> None:
        existing = trigger_migrations()
        if existing and existing[-1].FORWARD == current_sql():
            self.stdout.write("The KPI queue triggers' latest migration is up to date.")
            return
        if options["check"]:
            raise CommandError("The KPIs read other columns than the queue triggers watch: "
                               "run python manage.py kpi_trigger_migration.")
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
        previous = graph.leaf_nodes("reporting")[0][1]
        number = int(previous[:4]) + 1
        reverse = existing[-1].FORWARD if existing else triggers.postgresql_drop_sql()
        watched = {table: list(columns) for table, columns in watched_columns().items()}
        path = Path(reporting.migrations.__file__).parent / f"{number:04d}_kpi_queue_triggers.py"
        path.write_text(TEMPLATE.format(
            watched=pprint.pformat(watched, width=96, compact=True),
            forward=_literal(current_sql()), reverse=_literal(reverse),
            previous=previous, cases=graph.leaf_nodes("cases")[0][1],
        ))
        self.stdout.write(f"Wrote {path}.")
