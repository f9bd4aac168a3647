"""The open-case cover index with the new open stage ``under_review`` (issue 19 item 4).

Desk lists of open cases filter ``stage IN (cases.choices.OPEN_STAGES)``; PostgreSQL uses the
partial index ``case_open_cover_idx`` only when that list is within the index's own. Rebuilt
as migration 0014 built it: CONCURRENTLY under a new name, then swapped for the old one, so
lists keep an index. Other databases skip it.
"""

from django.db import migrations

OPEN = ("received", "triaged", "assigned", "in_progress", "waiting_department", "resolved",
        "feedback_given", "revisit", "follow_up", "under_review")
PREVIOUS = OPEN[:-1]
COVER = (
    "(next_due_at, id) INCLUDE (stage, tier, category, channel, department_id, owner_id, "
    "handler_id, customer_id, group_id, received_at, next_risk_at) WHERE stage IN ({stages})"
)


def _swap_cover(schema_editor, stages: tuple[str, ...]) -> None:
    definition = COVER.format(stages=", ".join(f"'{s}'" for s in stages))
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_open_cover_new_idx")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY case_open_cover_new_idx ON cases_case {definition}")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_open_cover_idx")
    schema_editor.execute("ALTER INDEX case_open_cover_new_idx RENAME TO case_open_cover_idx")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _swap_cover(schema_editor, OPEN)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _swap_cover(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0031_case_review")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
