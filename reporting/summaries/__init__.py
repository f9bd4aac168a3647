"""Exact day sums of every case KPI: the read model that makes the dashboard cost O(days)
instead of O(cases).

* ``facts``: what a case adds to the sums, computed by the KPI definitions themselves and
  filed under the local day of each KPI's anchor and the case's dimension values;
* ``triggers`` (with ``watched``, the columns derived from the KPI definitions): the cases
  tables queue a changed case in ``KpiQueue`` in the same transaction as the change;
* ``ledger`` and ``refreshing``: recompute the queued and the flipped cases (a running
  clock's outcome becomes known when it falls due) and add new minus old, idempotently;
* ``reads``: sums of whole local days; ``verification``: the sums against live aggregates.

The names below are the package's public surface (``from reporting import summaries``).
"""

from reporting.summaries.facts import measure
from reporting.summaries.reads import (
    by_day,
    by_dimension,
    day_span,
    root_cause_counts,
    root_cause_matrix,
)
from reporting.summaries.refreshing import (
    RefreshResult,
    add_copies,
    catch_up,
    pending,
    rebuild,
    refresh,
)
from reporting.summaries.triggers import TRIGGERS
from reporting.summaries.verification import compare, trigger_differences

__all__ = [
    "TRIGGERS", "RefreshResult", "add_copies", "by_day", "by_dimension", "catch_up", "compare",
    "day_span", "measure", "pending", "rebuild", "refresh", "root_cause_counts",
    "root_cause_matrix", "trigger_differences",
]
