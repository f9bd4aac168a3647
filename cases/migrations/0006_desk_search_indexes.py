"""Indexes behind the desk's text search, sorts and filters on PostgreSQL.

- Text search: Django's ``icontains`` on PostgreSQL is ``UPPER(col::text) LIKE UPPER('%q%')``;
  a trigram GIN index on exactly that expression serves it (pg_trgm; CJK characters make
  trigrams too, so Chinese queries of three or more characters use it).
- Sorts: the list's orderings (nearest due, received, tier then due, recently updated), each
  with ``id`` as the tie-breaker so a page is an index scan that stops after the page.
- Filters: the key-customer flag (a small partial index).

Built CONCURRENTLY (so the migration is not atomic): on a live million-row table that does not
block writers. Other databases (SQLite, the embedded default) skip this migration: the
composite indexes on the models are enough there.
"""

from django.db import migrations

INDEXES = {
    # name: (table, definition)
    "case_reference_trgm": ("cases_case", "USING gin (UPPER(reference::text) gin_trgm_ops)"),
    "case_subject_trgm": ("cases_case", "USING gin (UPPER(subject::text) gin_trgm_ops)"),
    "case_description_trgm": ("cases_case", "USING gin (UPPER(description) gin_trgm_ops)"),
    "customer_name_trgm": ("cases_customer", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    "customer_phone_trgm": ("cases_customer", "USING gin (UPPER(phone::text) gin_trgm_ops)"),
    "customer_email_trgm": ("cases_customer", "USING gin (UPPER(email::text) gin_trgm_ops)"),
    "case_next_due_id_idx": ("cases_case", "(next_due_at, id)"),
    "case_received_id_idx": ("cases_case", "(received_at, id)"),
    "case_tier_due_idx": ("cases_case", "(tier, next_due_at, id)"),
    "case_updated_id_idx": ("cases_case", "(updated_at, id)"),
    "customer_key_idx": ("cases_customer", "(id) WHERE is_key_customer"),
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, definition) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {definition}"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0005_notice_templates"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
