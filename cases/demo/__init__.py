"""Demo and benchmark data: departments, one user per role, and cases simulated along the
process with consistent timestamps, bulk-inserted (see ``bench/`` for timings).

Modules: ``reference`` (departments and users), ``samples`` (texts and names),
``simulation`` (one case's path) and ``seeding`` (batches and bulk inserts).
"""

from .reference import DEMO_PASSWORD, DEMO_USERS, seed_reference_data
from .seeding import bulk_insert, seed_cases

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "bulk_insert", "seed_cases", "seed_reference_data"]
