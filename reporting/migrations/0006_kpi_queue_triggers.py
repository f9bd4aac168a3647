"""The KPI queue triggers on the cases tables (PostgreSQL), watching the columns the KPI fact
queries read when this migration was written (``reporting.summaries.watched``; the test
``test_the_latest_trigger_migration_watches_what_the_kpis_read`` fails once they differ:
then copy this migration with the new list). SQLite: ``reporting.apps`` installs them after
every migrate. Replaces the triggers the post_migrate handler used to install."""

from django.db import migrations

from reporting.summaries.triggers import postgresql_drop_sql, postgresql_sql

WATCHED = {
    "cases_case": [
        "category", "channel", "closed_at", "customer_id", "department_id", "feedback_due_at",
        "feedback_given_at", "first_responded_at", "received_at", "reopen_count",
        "resolved_at", "response_breached", "response_due_at", "retiered", "revisit_done_at",
        "revisit_due_at", "root_cause_id", "satisfaction_score", "solution_due_at", "stage",
        "tier",
    ],
    "cases_casetransition": ["case_id", "field", "name", "source", "target"],
    "cases_collaborationrequest": [
        "answered_at", "case_id", "closed_at", "created_at", "department_id", "due_at",
        "status",
    ],
    "cases_customer": ["is_key_customer"],
}


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgresql_sql(WATCHED):
            schema_editor.execute(sql)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgresql_drop_sql():
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "0005_improvement_text_limits"),
        ("cases", "0016_notice_recipient_254"),
    ]

    operations = [migrations.RunPython(install, remove, elidable=False)]
