"""Demo and benchmark data: departments, one user per role, and simulated cases."""

from .simulation import DEMO_PASSWORD, DEMO_USERS, bulk_insert, seed_cases, seed_reference_data

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "bulk_insert", "seed_cases", "seed_reference_data"]
