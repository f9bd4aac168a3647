"""Serve the desk's supervision queues (at risk / breached) from CaseDeadline.

The queue counts and filters used to read ``Case.sla_state``, which is deliberately in no
index (migration 0011: the sweep's case updates stay HOT), so PostgreSQL fetched a table row
per open case (~20 ms for the home counts, ~100 ms for a list count at a million cases). Now
they read the case ids of the flagged running clocks from this partial index, index-only:
``(state, case_id) INCLUDE (due_at) WHERE stopped_at IS NULL AND state IN (at_risk,
breached)``. The clocks that went at risk or due since the last sweep come from the existing
``deadline_risk_open_idx`` / ``deadline_due_open_idx``.

The sweep already rewrites these rows' index entries (``state`` is in the other partial
indexes' conditions), so this adds one small index write per state change.

Built CONCURRENTLY on PostgreSQL (no write lock on a large table); elsewhere a plain index.
"""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("state__in", ["at_risk", "breached"]), ("stopped_at__isnull", True)),
    fields=["state", "case"], include=("due_at",), name="deadline_flagged_open_idx",
)


def forwards(apps, schema_editor):
    model = apps.get_model("cases", "CaseDeadline")
    if schema_editor.connection.vendor == "postgresql":
        sql = str(INDEX.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(sql.replace(
            "CREATE INDEX CONCURRENTLY ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ", 1))
    else:
        schema_editor.add_index(model, INDEX)


def backwards(apps, schema_editor):
    model = apps.get_model("cases", "CaseDeadline")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0013_desk_saved_filters"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="casedeadline", index=INDEX)],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
