"""Celery tasks of reporting (beat schedule in settings: Monday 09:00, CELERY_TIMEZONE)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="reporting.tasks.weekly_review_task", acks_late=True)
def weekly_review_task() -> int:
    """Build the review of the previous local week. Idempotent: a second run (a retry, a
    redelivery, two beats) returns the stored snapshot. Returns the review's id."""
    from django.utils import timezone

    from reporting.services import previous_week, weekly_review_build

    now = timezone.now()
    review, created = weekly_review_build(week=previous_week(now), now=now)
    logger.info("weekly review %s %s", review.week_start, "built" if created else "exists")
    return review.pk


@shared_task(name="reporting.tasks.kpi_summaries_task", acks_late=True, soft_time_limit=60,
             time_limit=90)
def kpi_summaries_task() -> int:
    """Bring the dashboard's KPI day sums up to date (every minute by beat). Idempotent and
    serialised by a row lock, so a redelivery or an overlap changes nothing. A long backlog
    (a first build, a bulk import) is worked off 45 s at a time, each batch committed.
    Returns the number of cases computed."""
    from reporting.summaries import refresh

    result = refresh(max_seconds=45)
    if result.cases:
        logger.info("KPI day sums: %s cases in %s batches%s", result.cases, result.batches,
                    " (rebuilt)" if result.rebuilt else "")
    return result.cases
