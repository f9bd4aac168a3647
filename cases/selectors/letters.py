"""Reads of final-response letters."""

from __future__ import annotations

from cases.models import Case, FinalLetter


def letters_of(case: Case) -> list[FinalLetter]:
    """The case's letters as sent, oldest first, with their sender (one query)."""
    return list(FinalLetter.objects.filter(case=case).select_related("sent_by")
                .only("case_id", "round", "subject", "language", "template_version",
                      "sent_at", "sent_by__username", "sent_by__display_name",
                      "sent_by__first_name", "sent_by__last_name"))
