"""Fewer, better indexes on cases_case (each one costs every intake INSERT).

- ``case_order_idx`` becomes (UPPER(order_ref), category, received_at): intake's matter read
  (one order's recent cases of a category, any letter case) is then one index range,
  whatever the planner's statistics say; with (order_ref) alone and the spellings in an
  ``IN``, PostgreSQL walked the category's recent cases instead (1 ms instead of 0.03).
- ``case_received_idx`` and ``case_stage_due_idx`` take the id as tie-breaker. On PostgreSQL
  they had twins with the id already (``case_received_id_idx``, ``case_stage_due_id_idx``,
  migrations 0006 and 0009): the twins are renamed to the model's names and the narrower
  copies dropped, so PostgreSQL keeps one index each instead of two and builds nothing.

PostgreSQL works CONCURRENTLY (not atomic: writers are not blocked on a live table); other
databases rebuild the three indexes as Django would.
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Upper

OLD = {
    "case_order_idx": models.Index(fields=["order_ref"], name="case_order_idx"),
    "case_received_idx": models.Index(fields=["received_at"], name="case_received_idx"),
    "case_stage_due_idx": models.Index(fields=["stage", "next_due_at"],
                                       name="case_stage_due_idx"),
}
NEW = {
    "case_order_idx": models.Index(Upper("order_ref"), F("category"), F("received_at"),
                                   name="case_order_idx"),
    "case_received_idx": models.Index(fields=["received_at", "id"], name="case_received_idx"),
    "case_stage_due_idx": models.Index(fields=["stage", "next_due_at", "id"],
                                       name="case_stage_due_idx"),
}
# PostgreSQL definitions of the indexes _swap builds there.
DEFINITIONS = {
    "case_order_idx": {"new": "(UPPER(order_ref), category, received_at)", "old": "(order_ref)"},
    "case_received_idx": {"old": "(received_at)"},
    "case_stage_due_idx": {"old": "(stage, next_due_at)"},
}
TWINS = {"case_received_idx": "case_received_id_idx", "case_stage_due_idx": "case_stage_due_id_idx"}


def _exists(cursor, name):
    cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'i'", [name])
    return cursor.fetchone() is not None


def _swap(schema_editor, model, indexes_from, indexes_to, twins, version="new"):
    if schema_editor.connection.vendor != "postgresql":
        for name in indexes_from:
            schema_editor.remove_index(model, indexes_from[name])
            schema_editor.add_index(model, indexes_to[name])
        return
    with schema_editor.connection.cursor() as cursor:
        for name in indexes_to:
            twin = twins.get(name)
            if twin is not None and _exists(cursor, twin):
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                cursor.execute(f"ALTER INDEX {twin} RENAME TO {name}")
                continue
            definition = DEFINITIONS[name][version]
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new")
            cursor.execute(f"CREATE INDEX CONCURRENTLY {name}_new ON cases_case {definition}")
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            cursor.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def forwards(apps, schema_editor):
    _swap(schema_editor, apps.get_model("cases", "Case"), OLD, NEW, TWINS)


def backwards(apps, schema_editor):
    model = apps.get_model("cases", "Case")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for name, twin in TWINS.items():  # give the twins back their own names
                cursor.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {twin}")
        _swap(schema_editor, model, {"case_order_idx": NEW["case_order_idx"]}, OLD, {}, "old")
        return
    _swap(schema_editor, model, NEW, OLD, {}, "old")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0014_case_next_risk_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *[migrations.RemoveIndex("case", name) for name in OLD],
                *[migrations.AddIndex("case", index) for index in NEW.values()],
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
