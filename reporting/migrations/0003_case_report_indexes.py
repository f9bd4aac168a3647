"""Indexes on the cases app's tables that only the reports need: the anchors of the KPIs
that had none (closed_at, revisit_done_at, collaboration requests' created_at) and deadline
breaches for the weekly review. Plain SQL that SQLite and PostgreSQL both accept; the cases
models do not declare them, so ``makemigrations cases`` leaves them alone."""

from django.db import migrations

INDEXES = [
    ("report_case_closed_idx", "cases_case", "closed_at"),
    ("report_case_revisit_done_idx", "cases_case", "revisit_done_at"),
    ("report_request_created_idx", "cases_collaborationrequest", "created_at"),
    ("report_deadline_breached_idx", "cases_casedeadline", "breached_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_seed_kpi_targets"),
        ("cases", "0003_roles_policies"),
    ]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column});",
            f"DROP INDEX IF EXISTS {name};",
        )
        for name, table, column in INDEXES
    ]
