"""The background task that delivers webhook messages (django-tasks, database backend)."""

from django_tasks import task


@task()
def deliver_webhooks() -> int:
    """Deliver every due message, batch after batch, until none is due. Queued by the
    transaction that wrote messages; the `deliverwebhooks` command (or the worker's periodic
    run) picks up the retries that fall due later."""
    from .services import deliver_due_messages

    delivered = 0
    while True:
        claimed = deliver_due_messages(limit=50)
        if not claimed:
            return delivered
        delivered += claimed
