"""The daily retention sweep: cases closed longer ago than their category's retention, and
under no legal hold, lose their personal data, in batches (each batch one transaction)."""

from __future__ import annotations

import calendar
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.choices import Stage
from cases.models import Case, LegalHold, RetentionRule
from cases.models.audit import AuditAction

from .anonymise import Anonymised, anonymise_cases


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus whole calendar months (31 March minus one month is 28/29 February)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def under_hold(now: datetime) -> Exists:
    return Exists(LegalHold.objects.active(now).filter(case_id=OuterRef("pk")))


def cases_past_retention(now: datetime) -> QuerySet[Case]:
    """Closed (or invalid) cases still holding personal data whose retention ran out at
    ``now``, not under a legal hold; none when no rule is set. Each rule's condition is a
    range of the reports' index on ``closed_at`` (``report_case_closed_idx``): no index of
    its own on the busy case table (bench/bench_retention.py prints the plan)."""
    rules = dict(RetentionRule.objects.values_list("category", "months"))
    default = rules.pop("", None)
    due = Q()
    for category, months in rules.items():
        due |= Q(category=category, closed_at__lte=months_before(now, months))
    if default is not None:
        due |= Q(closed_at__lte=months_before(now, default)) & ~Q(category__in=list(rules))
    if not due:
        return Case.objects.none()
    return (
        Case.objects.filter(due, anonymised_at__isnull=True, closed_at__isnull=False,
                            stage__in=[Stage.CLOSED, Stage.INVALID])
        .exclude(under_hold(now))
    )


def retention_sweep(*, now: datetime | None = None, batch_size: int | None = None
                    ) -> Anonymised:
    """Anonymise every case past retention, ``batch_size`` cases per transaction (locked,
    skipping any a user holds), then their customers who have no case left holding
    personal data. Idempotent: an anonymised case is never selected again."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_SWEEP_BATCH
    total = Anonymised()
    while True:
        with transaction.atomic():
            ids = list(
                cases_past_retention(now).order_by("closed_at", "pk")
                .select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            total.add(anonymise_cases(case_ids=ids, now=now, actor=None,
                                      action=AuditAction.ANONYMISE, reason="retention"))
