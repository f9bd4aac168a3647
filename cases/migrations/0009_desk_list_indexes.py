"""More PostgreSQL indexes for the desk's lists, found with bench/bench_desk.py on a million
cases.

- Open cases are a few percent of the table and nearly every desk list starts from them: a
  partial index over the open stages, in the list's default order (nearest due first), that
  carries the filterable columns, so the capped COUNT of a filtered open list is an index-only
  scan of the open cases and the page stops after its rows.
- A stage filter with the default or the received-date sort (closed cases of a quarter):
  ``(stage, next_due_at, id)`` and ``(stage, received_at, id)``.

Built CONCURRENTLY; other databases skip this migration. The open stages are listed as in
``cases.choices.OPEN_STAGES``; a query's ``stage IN (...)`` of those stages (or fewer) lets
PostgreSQL use the partial index.
"""

from django.db import migrations

OPEN = ("received", "triaged", "assigned", "in_progress", "waiting_department", "resolved",
        "feedback_given", "revisit", "follow_up")
OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
INDEXES = {
    "case_open_cover_idx": (
        "(next_due_at, id) INCLUDE (stage, tier, category, channel, department_id, owner_id, "
        "handler_id, sla_state, customer_id, group_id, received_at) "
        f"WHERE stage IN ({OPEN_SQL})"
    ),
    "case_stage_due_id_idx": "(stage, next_due_at, id)",
    "case_stage_received_idx": "(stage, received_at, id)",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON cases_case {definition}"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0008_desk_cjk_search"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
