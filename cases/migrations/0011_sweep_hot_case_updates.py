"""Let the deadline sweep update cases in place (HOT), found with bench/bench_sweep.py.

The sweep rewrites ``sla_state`` (and ``ever_breached``/``response_breached``) on every case
whose clock goes at risk or breached: 10,000 cases for 1 % of a million. While ``sla_state``
was indexed (``case_sla_idx``, and carried in ``case_open_cover_idx``'s INCLUDE list) each of
those updates wrote a new entry into every one of the case table's ~30 indexes (~7 s). Now:

- ``case_sla_idx`` is dropped (the desk reads the deadline state of open cases through the
  open-case indexes, never by state alone),
- ``case_open_cover_idx`` is rebuilt without ``sla_state``,
- the case table keeps 15 % of each page free (``fillfactor = 85``) so the new row version
  fits in the same page. The setting applies to pages written from now on; an existing large
  table gets it everywhere after a rewrite (``VACUUM FULL cases_case`` or pg_repack, in a
  maintenance window).

PostgreSQL only for the raw SQL (other databases only drop ``case_sla_idx``).
"""

from django.db import migrations

OPEN = ("received", "triaged", "assigned", "in_progress", "waiting_department", "resolved",
        "feedback_given", "revisit", "follow_up")
OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
COVER = (
    "(next_due_at, id) INCLUDE (stage, tier, category, channel, department_id, owner_id, "
    "handler_id{sla}, customer_id, group_id, received_at) "
    f"WHERE stage IN ({OPEN_SQL})"
)


def _cover(schema_editor, with_sla: bool) -> None:
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_open_cover_idx")
    definition = COVER.format(sla=", sla_state" if with_sla else "")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS case_open_cover_idx ON cases_case {definition}"
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _cover(schema_editor, with_sla=False)
    schema_editor.execute("ALTER TABLE cases_case SET (fillfactor = 85)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE cases_case RESET (fillfactor)")
    _cover(schema_editor, with_sla=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0010_case_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="case",
            name="case_sla_idx",
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
