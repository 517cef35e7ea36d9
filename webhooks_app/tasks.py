"""The background task that delivers webhook messages (django-tasks, database backend)."""

from django_tasks import task


@task()
def deliver_webhooks() -> int:
    """Deliver every due message, batch after batch, until none is due. Queued by the
    transaction that wrote messages, and for its time by the round that scheduled a retry;
    also run by the workers every TASKS_SCHEDULE_SECONDS (settings.PERIODIC_TASKS), which
    takes up a message whose worker died mid-delivery once its lease has run out."""
    from .services import deliver_due_messages

    delivered = 0
    while True:
        claimed = deliver_due_messages(limit=50)
        if not claimed:
            return delivered
        delivered += claimed


@task()
def prune_webhook_deliveries() -> int:
    """The delivery log is kept 30 days (periodic, settings.PERIODIC_TASKS)."""
    from .services import prune_delivery_log

    pruned = 0
    while True:
        batch = prune_delivery_log()
        if not batch:
            return pruned
        pruned += batch
