"""Import jobs of the dashboard: an uploaded CSV file, its dry run, then its import, each
phase's result stored row by row for the job's page. Every run, whatever the file's size, is
a task of the queue (kalem_site/tasks), enqueued in the transaction that starts it.

A run is resumable: each batch's writes (for the import: the numbers and their events), its
ImportJobRow results and the job's progress commit in one transaction. A run taken up again
after its worker died (numbers_app.jobs.reap) continues after the last committed batch: no
row is imported twice, none is half-imported."""

import logging
from datetime import timedelta
from itertools import islice

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import insert_many
from kalem_site.tasks.workers import DATABASE_ERRORS

from . import jobs
from .imports import ImportFileError, RowResult, Totals, decode, dry_run, number_import, read_rows, remember
from .models import ImportJob, ImportJobRow

logger = logging.getLogger(__name__)

# Jobs are kept this long, their files with them, then purged (numbers_app.tasks).
KEEP_JOBS = timedelta(days=7)
RUNNING = [ImportJob.State.CHECKING, ImportJob.State.IMPORTING]


@transaction.atomic
def import_job_create(*, account: Account, user, filename: str, data: bytes) -> ImportJob:
    """Store an uploaded file as a job, after checking that it is a CSV file we can read.
    Raises ImportFileError otherwise. The dry run is started with import_job_start()."""
    text = decode(data)
    total, _ = read_rows(text)
    return ImportJob.objects.create(
        account=account, created_by=user, filename=filename[:255], content=text, total_rows=total
    )


# The states a run of each phase may start from.
_STARTS_FROM = {
    ImportJob.Phase.DRY_RUN: [ImportJob.State.UPLOADED, ImportJob.State.CHECKED, ImportJob.State.FAILED],
    ImportJob.Phase.IMPORT: [ImportJob.State.CHECKED],
}


@transaction.atomic
def import_job_start(*, job: ImportJob, phase: str, actor: Actor | None = None) -> bool:
    """Enqueue the dry run or (with the actor to record) the import of a job. Returns False,
    doing nothing, when the job is not in a state to start that run (already running,
    already imported): the state moves in one conditional UPDATE, so two clicks cannot start
    two runs; the task is enqueued in the same transaction."""
    state = ImportJob.State.CHECKING if phase == ImportJob.Phase.DRY_RUN else ImportJob.State.IMPORTING
    started = ImportJob.objects.filter(pk=job.pk, state__in=_STARTS_FROM[phase]).update(
        state=state,
        phase=phase,
        processed_rows=0,
        totals={},
        error="",
        attempts=0,
        actor=actor.__dict__ if actor else {},
        updated_at=timezone.now(),
    )
    if not started:
        return False
    _enqueue(job)
    return True


@transaction.atomic
def import_job_resume(*, job: ImportJob) -> bool:
    """Take up a failed import where it stopped: the committed batches stay, the rest is
    imported. Returns False when the job is not a failed import."""
    resumed = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.FAILED, phase=ImportJob.Phase.IMPORT).update(
        state=ImportJob.State.IMPORTING, error="", attempts=0, updated_at=timezone.now()
    )
    if not resumed:
        return False
    _enqueue(job)
    return True


def _enqueue(job: ImportJob) -> None:
    result = import_job_task.enqueue(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(task_id=result.id)
    job.refresh_from_db(fields=["state", "phase", "processed_rows", "totals", "error", "task_id", "attempts"])


@task(takes_context=True)
def import_job_task(context, job_id: int) -> None:
    run_import_job(job_id, str(context.task_result.id))


def run_import_job(job_id: int, task_id: str) -> None:
    """Run (or continue) the job's current phase, if this task owns it."""
    with transaction.atomic():
        try:
            jobs.check_owner(ImportJob, job_id, task_id, RUNNING)
        except jobs.Superseded as superseded:
            logger.info("%s; not run.", superseded)
            return
        job = ImportJob.objects.select_related("account").get(pk=job_id)
        if job.processed_rows == 0:
            ImportJobRow.objects.filter(job=job, phase=job.phase).delete()
    phase = job.phase
    totals = Totals(**{outcome: job.totals.get(outcome, 0) for outcome in ImportJobRow.Outcome.values})
    try:
        _, rows = read_rows(job.content)
        seen: dict[str, int] = {}
        if job.processed_rows:
            logger.info("Import job %s: %s resumed after row %d.", job_id, phase, job.processed_rows)
            remember(account=job.account, rows=islice(rows, job.processed_rows), seen=seen)
        record = _recorder(job_id, task_id, phase, totals)
        if phase == ImportJob.Phase.DRY_RUN:
            batches = dry_run(account=job.account, rows=rows, seen=seen, record=record)
        else:
            batches = number_import(actor=Actor(**job.actor), account=job.account, rows=rows, seen=seen, record=record)
        for _ in batches:
            pass
    except jobs.Superseded as superseded:
        logger.warning("%s; stopped.", superseded)
        return
    except DATABASE_ERRORS:
        raise  # the database went away: the job stays running, and the reaper resumes it
    except Exception as error:  # the job's page says it failed; the log has the traceback
        logger.exception("Import job %s failed", job_id)
        message = str(error) if isinstance(error, ImportFileError) else "The run stopped on an unexpected error."
        if phase == ImportJob.Phase.IMPORT:
            message += f" The rows before row {totals.rows + 1} were imported; the rest were not."
        ImportJob.objects.filter(pk=job_id, task_id=task_id).update(
            state=ImportJob.State.FAILED, error=message, updated_at=timezone.now()
        )
        return
    done = ImportJob.State.CHECKED if phase == ImportJob.Phase.DRY_RUN else ImportJob.State.IMPORTED
    update = {"state": done, "processed_rows": totals.rows, "totals": totals.as_dict(), "updated_at": timezone.now()}
    if done == ImportJob.State.IMPORTED:
        update["content"] = ""  # applied: the file is no longer needed
    ImportJob.objects.filter(pk=job_id, task_id=task_id, state__in=RUNNING).update(**update)


def _recorder(job_id: int, task_id: str, phase: str, totals: Totals):
    """What each batch records, in the batch's own transaction: its rows and the progress."""

    def record(results: list[RowResult]) -> None:
        jobs.check_owner(ImportJob, job_id, task_id, RUNNING)
        insert_many(
            ImportJobRow,
            [
                {
                    "job_id": job_id,
                    "phase": phase,
                    "line": r.line,
                    "number": r.number[:64],
                    "outcome": str(r.outcome),
                    "message": r.message,
                }
                for r in results
            ],
        )
        totals.add(results)
        ImportJob.objects.filter(pk=job_id).update(
            processed_rows=totals.rows, totals=totals.as_dict(), updated_at=timezone.now()
        )

    return record


def _give_up(job: ImportJob) -> dict:
    message = f"The run was interrupted {job.attempts + 1} times (its worker stopped) and was given up."
    if job.phase == ImportJob.Phase.IMPORT:
        message += f" The first {job.processed_rows} rows were imported; resume the import for the rest."
    else:
        message += " Run the dry run again."
    return {"state": ImportJob.State.FAILED, "error": message}


def import_jobs_reap() -> int:
    return jobs.reap(ImportJob, RUNNING, import_job_task, _give_up)


def import_jobs_purge() -> int:
    """Jobs older than KEEP_JOBS, with their files and rows (not while they run)."""
    old = ImportJob.objects.filter(created_at__lt=timezone.now() - KEEP_JOBS)
    deleted, _ = old.filter(~Q(state__in=RUNNING)).delete()
    return deleted
