"""Named locks held until the end of the current transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections

# Literal SQL: the ORM has no advisory-lock expression. Keys are taken in hash order, so two
# transactions that need some of the same keys never wait on each other in a circle.
_ADVISORY_LOCKS_SQL = (
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT DISTINCT hashtextextended(x, 0) AS k FROM unnest(%s::text[]) AS x ORDER BY k) AS o"
)


def hold_transaction_locks(keys: Iterable[str], *, using: str = "default") -> None:
    """Block until this transaction holds a lock on each of ``keys`` (texts); they are
    released at commit or rollback. PostgreSQL only: elsewhere a no-op, because SQLite
    (opened with IMMEDIATE transactions, see settings/env.py) admits one writer at a time.

    Precondition: inside ``transaction.atomic()``. One query on PostgreSQL."""
    wanted = sorted(set(keys))
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("hold_transaction_locks needs a transaction (transaction.atomic)")
    if not wanted or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_ADVISORY_LOCKS_SQL, [wanted])
