"""The dashboard's sync from Twilio as a job: enqueued, run by a worker, its progress (the
numbers Twilio listed so far) and then its report stored for the job's page. The sync writes
in one transaction together with the job's report (numbers_app.twilio.twilio_sync), so a
sync killed half-way wrote nothing and is simply run again by the reaper."""

import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.tasks.workers import DATABASE_ERRORS

from . import jobs
from .models import TwilioSyncJob
from .twilio import TwilioSyncError, TwilioSyncReport, twilio_sync

logger = logging.getLogger(__name__)

RUNNING = [TwilioSyncJob.State.QUEUED, TwilioSyncJob.State.RUNNING]
UNEXPECTED_MESSAGE = (
    "The sync stopped on an unexpected error; nothing was imported. Run it again; if it fails again, "
    "the server's log has the details."
)


@transaction.atomic
def twilio_sync_job_start(*, account: Account, user, actor: Actor) -> TwilioSyncJob:
    """Enqueue a sync of the account, or return the one already waiting or running."""
    # The account's row locked: two clicks at once find the same job rather than make two.
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk"))
    waiting = TwilioSyncJob.objects.filter(account=account, state__in=RUNNING).first()
    if waiting is not None:
        return waiting
    job = TwilioSyncJob.objects.create(account=account, created_by=user, actor=actor.__dict__)
    job.task_id = str(twilio_sync_task.enqueue(job.pk).id)
    job.save(update_fields=["task_id"])
    return job


def twilio_sync_job_report(job: TwilioSyncJob) -> TwilioSyncReport | None:
    return TwilioSyncReport(**job.report) if job.state == TwilioSyncJob.State.DONE else None


@task(takes_context=True)
def twilio_sync_task(context, job_id: int) -> None:
    run_twilio_sync_job(job_id, str(context.task_result.id))


def run_twilio_sync_job(job_id: int, task_id: str) -> None:
    claimed = TwilioSyncJob.objects.filter(pk=job_id, task_id=task_id, state__in=RUNNING).update(
        state=TwilioSyncJob.State.RUNNING, listed=0, updated_at=timezone.now()
    )
    if not claimed:
        logger.info("Twilio sync job %s is no longer run by task %s; not run.", job_id, task_id)
        return
    job = TwilioSyncJob.objects.select_related("account").get(pk=job_id)

    def on_listed(count: int) -> None:
        TwilioSyncJob.objects.filter(pk=job_id, task_id=task_id).update(listed=count, updated_at=timezone.now())

    def record(report: TwilioSyncReport) -> None:
        jobs.check_owner(TwilioSyncJob, job_id, task_id, RUNNING)
        TwilioSyncJob.objects.filter(pk=job_id).update(
            state=TwilioSyncJob.State.DONE, listed=report.listed, report=report.as_dict(), updated_at=timezone.now()
        )

    try:
        twilio_sync(actor=Actor(**job.actor), account=job.account, on_listed=on_listed, record=record)
    except TwilioSyncError as error:
        _fail(job_id, task_id, str(error))
    except jobs.Superseded as superseded:
        logger.warning("%s; stopped.", superseded)
    except DATABASE_ERRORS:
        raise  # the database went away: the job stays running, and the reaper runs it again
    except Exception:
        logger.exception("Twilio sync job %s failed", job_id)
        _fail(job_id, task_id, UNEXPECTED_MESSAGE)


def _fail(job_id: int, task_id: str, message: str) -> None:
    TwilioSyncJob.objects.filter(pk=job_id, task_id=task_id).update(
        state=TwilioSyncJob.State.FAILED, error=message, updated_at=timezone.now()
    )


def _give_up(job: TwilioSyncJob) -> dict:
    message = (
        f"The sync was interrupted {job.attempts + 1} times (its worker stopped) and was given up; "
        "nothing was imported. Run it again."
    )
    return {"state": TwilioSyncJob.State.FAILED, "error": message}


def twilio_sync_jobs_reap() -> int:
    return jobs.reap(TwilioSyncJob, RUNNING, twilio_sync_task, _give_up)


def twilio_sync_jobs_purge(keep) -> int:
    old = TwilioSyncJob.objects.filter(created_at__lt=timezone.now() - keep).exclude(state__in=RUNNING)
    deleted, _ = old.delete()
    return deleted
