"""``Case.next_risk_at``: the earliest at-risk time of the case's running clocks.

With ``next_due_at`` it answers the desk's deadline-state filters and supervision lists from
the open-case index alone (at risk: ``next_due_at > now >= next_risk_at``; breached:
``next_due_at <= now``), where before an at-risk or on-time filter probed CaseDeadline once per
listed row (35 ms for a capped count at a million cases). Set by the clocks
(cases.services.clocks), never by the sweep, so the sweep's case updates stay HOT.

- adds the column and fills it from the running clocks (one UPDATE, open cases only),
- on PostgreSQL rebuilds ``case_open_cover_idx`` with ``next_risk_at`` in its INCLUDE list:
  built CONCURRENTLY under a new name, then swapped for the old one, so lists keep an index.
"""

from django.db import migrations, models

OPEN = ("received", "triaged", "assigned", "in_progress", "waiting_department", "resolved",
        "feedback_given", "revisit", "follow_up")
OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
COVER = (
    "(next_due_at, id) INCLUDE (stage, tier, category, channel, department_id, owner_id, "
    "handler_id, customer_id, group_id, received_at{risk}) "
    f"WHERE stage IN ({OPEN_SQL})"
)

FILL_SQL = """
UPDATE cases_case SET next_risk_at = (
    SELECT MIN(d.risk_at) FROM cases_casedeadline d
    WHERE d.case_id = cases_case.id AND d.stopped_at IS NULL
)
WHERE next_due_at IS NOT NULL
"""


def _swap_cover(schema_editor, with_risk: bool) -> None:
    definition = COVER.format(risk=", next_risk_at" if with_risk else "")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_open_cover_new_idx")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY case_open_cover_new_idx ON cases_case {definition}")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_open_cover_idx")
    schema_editor.execute("ALTER INDEX case_open_cover_new_idx RENAME TO case_open_cover_idx")


def forwards(apps, schema_editor):
    schema_editor.execute(FILL_SQL)
    if schema_editor.connection.vendor == "postgresql":
        _swap_cover(schema_editor, with_risk=True)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _swap_cover(schema_editor, with_risk=False)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0013_desk_saved_filters"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="next_risk_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next at risk"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
