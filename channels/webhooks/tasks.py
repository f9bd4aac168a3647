"""Celery tasks of the webhooks app (routed to the ``notices`` queue: both wait on remote
systems, neither should delay a sweep). Arguments are ids; every task is idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    bind=True, name="channels.webhooks.tasks.send_webhook_task", acks_late=True,
    reject_on_worker_lost=True, soft_time_limit=30, time_limit=45, max_retries=None,
)
def send_webhook_task(self, delivery_id: str) -> str:
    """Send one webhook delivery. A failed attempt is retried with exponential backoff and
    jitter; the attempt count lives on the row, so a lost retry message is re-dispatched by
    the outbox sweep with the same budget."""
    from channels.webhooks.services.delivery import webhook_send

    outcome = webhook_send(delivery_id=delivery_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
