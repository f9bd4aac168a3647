"""One literal SQL helper, for a measured reason: Django's ``bulk_update`` builds a CASE WHEN
expression per row and field in Python, which took 57 of the sweep's 65 seconds for 2,000
cases (bench/bench_retention.py). ``WITH v AS (VALUES ...) UPDATE ... FROM v`` sends the same
new values as plain parameters (PostgreSQL, and SQLite 3.33+)."""

from __future__ import annotations

from typing import Any

from django.db import connection, models

ROWS_PER_STATEMENT = 500


def update_rows(model: type[models.Model], fields: list[str],
                rows: list[tuple[Any, dict[str, Any]]]) -> None:
    """Set ``fields`` of each (pk, values) row; every row gives every field."""
    if not rows:
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    table = quote(model._meta.db_table)
    aliases = [f"c{i}" for i in range(len(columns))]
    plain = ", ".join(["%s"] * len(columns))
    # PostgreSQL types the VALUES columns from the first row: cast it. SQLite must not cast
    # (CAST('2026-12-07 ...' AS datetime) is the number 2026 there) and needs no types.
    casts = (", ".join(f"CAST(%s AS {column.cast_db_type(connection)})" for column in columns)
             if connection.vendor == "postgresql" else plain)
    sets = ", ".join(f"{quote(column.column)} = v.{alias}"
                     for column, alias in zip(columns[1:], aliases[1:], strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            values = ", ".join([f"({casts})"] + [f"({plain})"] * (len(chunk) - 1))
            params: list[Any] = []
            for row_pk, row in chunk:
                params.append(pk.get_db_prep_value(row_pk, connection))
                params += [column.get_db_prep_save(row[column.name], connection)
                           for column in columns[1:]]
            cursor.execute(
                f"WITH v({', '.join(aliases)}) AS (VALUES {values}) "
                f"UPDATE {table} SET {sets} FROM v WHERE {table}.{quote(pk.column)} = "
                f"v.{aliases[0]}", params)
