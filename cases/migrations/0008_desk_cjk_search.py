"""Chinese text search on PostgreSQL: overlapping character bigrams in a full-text index.

Chinese has no spaces between words, and a trigram index cannot serve the most common query, a
two-character word (物流, 退款). Like Lucene's CJK analyser, ``desk_cjk_bigrams`` turns every
run of CJK characters into its overlapping bigrams (订单未到 -> 订单 单未 未到). The column
``desk_fts`` holds ``to_tsvector('simple', ...)`` of those bigrams for subject and description,
GENERATED ... STORED (PostgreSQL keeps it current on every insert and update; Django's model
does not know it and never writes it), with a GIN index. A query is a phrase of its bigrams
(未到 -> '未到'; 未按时 -> '未按' <-> '按时'): milliseconds on a million cases, and the
phrase recheck reads the stored vector instead of re-running the function per row.
``cases.selectors.CJK_FTS_SQL`` queries it. Other databases skip this migration (the desk
falls back to ``icontains`` there). Adding a stored column rewrites the table once.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION desk_cjk_bigrams(src text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  run text;
  out text := '';
  n int;
BEGIN
  FOR run IN SELECT m[1] FROM regexp_matches(
      src, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m LOOP
    n := char_length(run);
    IF n = 1 THEN
      out := out || ' ' || run;
    ELSE
      FOR i IN 1 .. n - 1 LOOP
        out := out || ' ' || substr(run, i, 2);
      END LOOP;
    END IF;
  END LOOP;
  RETURN out;
END
$$;
"""
COLUMN = (
    "ALTER TABLE cases_case ADD COLUMN IF NOT EXISTS desk_fts tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', desk_cjk_bigrams(subject::text || ' ' || description))) STORED"
)
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS case_desk_fts_idx ON cases_case USING gin (desk_fts)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(COLUMN)
    schema_editor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_desk_fts_idx")
    schema_editor.execute("ALTER TABLE cases_case DROP COLUMN IF EXISTS desk_fts")
    schema_editor.execute("DROP FUNCTION IF EXISTS desk_cjk_bigrams(text)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0007_board_request_actors"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
