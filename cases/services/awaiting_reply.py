"""Whether the customer waits for our answer: ``Case.awaiting_reply_since`` is when their
oldest unanswered message came (None: answered, or nothing from them). Every inbound message
sets it, a customer-visible reply, note or contact clears it; the desk's "Customer replied"
queue reads it through ``case_awaiting_reply_idx``. Both helpers only set the field on a case
the caller has locked and saves."""

from __future__ import annotations

from datetime import datetime

from cases.models import Case


def customer_wrote(case: Case, at: datetime) -> None:
    """A message from the customer (verified or not) waits for an answer from ``at``; an
    earlier unanswered one keeps its time (the queue sorts by the longest wait)."""
    if case.awaiting_reply_since is None:
        case.awaiting_reply_since = at


def customer_answered(case: Case) -> None:
    """An agent answered the customer (a contact, a customer-visible note or reply)."""
    case.awaiting_reply_since = None
