"""Celery tasks of the cases app. Arguments are ids; each task re-reads state and calls a
service. (Sending, sweeps and revisits are completed in cases.services.outbox/sweeps.)"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="cases.tasks.send_notice_task", acks_late=True)
def send_notice_task(notice_id: int) -> str:
    from cases.services.outbox import notice_send

    return notice_send(notice_id=notice_id)
