"""The queue's own periodic tasks (settings.PERIODIC_TASKS)."""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from .models import PeriodicRun, WorkerHeartbeat
from .workers import reap_lost_results

logger = logging.getLogger("kalem_site.tasks")

# Finished task results (the admin's "Task results") are kept this long.
KEEP_RESULTS = timedelta(days=7)
# Heartbeats of workers gone this long, and periodic runs this old, are forgotten.
KEEP_WORKER_RECORDS = timedelta(days=1)


@task()
def purge_task_results() -> int:
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=timezone.now() - KEEP_RESULTS).delete()
    return deleted


@task()
def purge_worker_records() -> int:
    since = timezone.now() - KEEP_WORKER_RECORDS
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen__lt=since).delete()
    runs, _ = PeriodicRun.objects.filter(enqueued_at__lt=since).delete()
    return deleted + runs


@task()
def reap_lost_tasks() -> int:
    """Tasks RUNNING on a dead worker are marked failed; the jobs they ran are taken up again
    by their own reaper (numbers_app.tasks.reap_jobs)."""
    return reap_lost_results()
