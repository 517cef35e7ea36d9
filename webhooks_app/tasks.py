"""The background task that delivers webhook messages (django-tasks, database backend)."""

from django_tasks import task

# Messages claimed per round of a delivery run.
BATCH = 50


def _ask_for_help() -> None:
    """Queue one more delivery run unless one is already waiting: a backlog's runs then
    spread over every idle worker (each run asks at most once, so their number stays about
    the number of workers), while a lone message costs one run."""
    from django_tasks_db.models import DBTaskResult

    if not DBTaskResult.objects.ready().filter(task_path=deliver_webhooks.module_path).exists():
        deliver_webhooks.enqueue()


@task()
def deliver_webhooks() -> int:
    """Deliver every due message, batch after batch, until none is due. Queued by the
    transaction that wrote messages, and for its time by the round that scheduled a retry;
    also run by the workers every TASKS_SCHEDULE_SECONDS (settings.PERIODIC_TASKS), which
    takes up a message whose worker died mid-delivery once its lease has run out. A full
    round (a backlog) asks for another run, so more workers deliver faster."""
    from .services import deliver_due_messages

    done = 0  # messages claimed and outbox rows expanded
    asked = False
    while True:
        progress = deliver_due_messages(limit=BATCH)
        if not progress:
            return done
        done += progress
        if progress >= BATCH and not asked:
            _ask_for_help()
            asked = True


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
