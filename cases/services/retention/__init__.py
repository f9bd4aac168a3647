"""The personal-data lifecycle: retention, legal holds, erasure requests (issue 19 item 2)."""

from .anonymise import Anonymised, anonymise_cases
from .erasure import erasure_refusal, erasure_request_carry_out, erasure_request_record
from .holds import legal_hold_lift, legal_hold_problem, legal_hold_set
from .sweep import cases_past_retention, months_before, retention_sweep

__all__ = [
    "Anonymised",
    "anonymise_cases",
    "cases_past_retention",
    "erasure_refusal",
    "erasure_request_carry_out",
    "erasure_request_record",
    "legal_hold_lift",
    "legal_hold_problem",
    "legal_hold_set",
    "months_before",
    "retention_sweep",
]
