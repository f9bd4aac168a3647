"""Demo and benchmark data: departments, one user per role, and cases simulated along the
process with consistent timestamps, bulk-inserted (see ``bench/`` for timings).

Modules: ``reference`` (departments and users), ``samples`` (texts and names),
``simulation`` (one case's path relative to now), ``tables`` (rows to COPY / bulk_create,
the bulk-load switches), ``copies`` (a large PostgreSQL seed: copies of the simulated cases
made in the database) and ``seeding`` (chunks, processes, sequences, KPI sums).
"""

from .history import LONG_TIMELINE_EVERY
from .reference import DEMO_PASSWORD, DEMO_USERS, seed_reference_data
from .seeding import SIMULATED, SeedResult, last_seed_record, record_seed, seed_cases

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "LONG_TIMELINE_EVERY", "SIMULATED", "SeedResult",
           "last_seed_record", "record_seed", "seed_cases", "seed_reference_data"]
