"""Thin tasks: ids in, the service (platforms.webhooks) does the work."""

from __future__ import annotations

from celery import shared_task

from . import webhooks


@shared_task(acks_late=True, name="platforms.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """One attempt of one delivery; the service schedules the next one. Safe to run twice (the row is claimed)."""
    return webhooks.delivery_send(delivery_id=delivery_id).status


@shared_task(name="platforms.tasks.deliver_due_webhooks")
def deliver_due_webhooks() -> dict:
    """Periodic: enqueue the deliveries that are due and were not sent, release those of a dead worker."""
    result = webhooks.deliveries_sweep()
    return {"released": result.released, "abandoned": result.abandoned, "enqueued": result.enqueued}
