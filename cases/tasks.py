"""Celery tasks of the cases app. Arguments are ids; each task re-reads the state and calls a
service, and every one is idempotent (see settings/base.py: late acks, re-queue on worker loss).

Time limits: sending is short (soft 30 s, hard 45 s, both below OUTBOX_LEASE_SECONDS, so a
re-claimed notice cannot still be in flight); sweeps get minutes.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(
    bind=True, name="cases.tasks.send_notice_task", acks_late=True,
    reject_on_worker_lost=True, soft_time_limit=30, time_limit=45, max_retries=None,
)
def send_notice_task(self, notice_id: int) -> str:
    """Send one outbox notice. A transient failure is retried with exponential backoff; the
    attempt count lives on the notice row (not in the message), so a lost retry message is
    re-dispatched by the outbox sweep with the same budget."""
    from cases.services.outbox import notice_send

    outcome = notice_send(notice_id=notice_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="cases.tasks.outbox_redispatch_task", acks_late=True, soft_time_limit=120,
             time_limit=150)
def outbox_redispatch_task() -> int:
    """Re-dispatch stuck notices and stuck webhook deliveries (one sweep, one beat entry)."""
    from cases.services.outbox import outbox_redispatch
    from channels.webhooks.services.delivery import webhook_redispatch

    return outbox_redispatch() + webhook_redispatch()


@shared_task(name="cases.tasks.deadline_sweep_task", acks_late=True, soft_time_limit=240,
             time_limit=300)
def deadline_sweep_task() -> dict[str, int]:
    """Mark at-risk and breached deadlines and alert owners and supervisors; then let the
    collaboration sweep log overdue department requests and tell their liaisons."""
    from cases.services.collaboration import request_overdue_sweep
    from cases.services.sweeps import deadline_sweep

    result = deadline_sweep().as_dict()
    result["requests_overdue"] = request_overdue_sweep()
    return result


@shared_task(name="cases.tasks.revisit_sweep_task", acks_late=True, soft_time_limit=240,
             time_limit=300)
def revisit_sweep_task() -> int:
    from cases.services.revisits import revisit_open_due

    return revisit_open_due().opened


@shared_task(name="cases.tasks.pause_maximum_sweep_task", acks_late=True, soft_time_limit=240,
             time_limit=300)
def pause_maximum_sweep_task() -> int:
    """Resume the cases whose pause reached its reason's maximum length."""
    from cases.services.pauses import pause_maximum_sweep

    return pause_maximum_sweep()


@shared_task(name="cases.tasks.retention_sweep_task", acks_late=True, soft_time_limit=3000,
             time_limit=3300)
def retention_sweep_task() -> dict:
    """Daily: anonymise the cases (and customers) past their retention. Each batch commits on
    its own, so a run cut short resumes where it stopped the next day (or on a re-run)."""
    from cases.services.retention import retention_sweep

    return retention_sweep().as_dict()
