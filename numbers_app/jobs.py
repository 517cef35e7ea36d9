"""What the dashboard's background jobs (CSV imports, Twilio syncs) share: each job row
names the task that owns its run (`task_id`); a task that finds another owner stops; the
reaper takes up a job whose task was lost (its worker died, or the database went away
under it) with a new task, at most MAX_ATTEMPTS times, then gives up with a message."""

import logging
from collections.abc import Callable

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from kalem_site.tasks.workers import task_lost

logger = logging.getLogger(__name__)

# Times a job is taken up again after losing its worker before it is marked failed.
MAX_ATTEMPTS = 3


class Superseded(Exception):
    """This task no longer owns the job's run (the reaper gave it to another task, or the
    run was given up): it stops without writing."""


def check_owner(model: type[models.Model], job_id: int, task_id: str, running: list[str]) -> None:
    """Lock the job's row until the transaction ends; raise Superseded unless this task still
    owns a running run."""
    owner = model.objects.select_for_update().filter(pk=job_id).values_list("task_id", "state").first()
    if owner is None or owner[0] != task_id or owner[1] not in running:
        raise Superseded(f"{model.__name__} {job_id} is no longer run by task {task_id}")


def reap(model: type[models.Model], running: list[str], task, give_up: Callable[[models.Model], dict]) -> int:
    """Take up again each running job of `model` whose task is lost: a new task of `task`
    (given the job's id), or, after MAX_ATTEMPTS, the job failed with give_up(job)'s fields.
    Returns how many jobs it handled."""
    handled = 0
    for pk in model.objects.filter(state__in=running).values_list("pk", flat=True):
        with transaction.atomic():
            job = model.objects.select_for_update().filter(pk=pk, state__in=running).first()
            if job is None or (job.task_id and not task_lost(job.task_id)):
                continue
            handled += 1
            if job.attempts >= MAX_ATTEMPTS:
                logger.error("%s %s lost its worker %d times; given up.", model.__name__, pk, job.attempts + 1)
                model.objects.filter(pk=pk).update(task_id="", updated_at=timezone.now(), **give_up(job))
                continue
            result = task.enqueue(pk)
            logger.warning("%s %s lost its worker; taken up again by task %s.", model.__name__, pk, result.id)
            model.objects.filter(pk=pk).update(task_id=result.id, attempts=F("attempts") + 1, updated_at=timezone.now())
    return handled
