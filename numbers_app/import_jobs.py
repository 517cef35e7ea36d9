"""Import jobs of the dashboard: an uploaded CSV file, its dry run, then its import, each
phase's result stored row by row for the job's page. A file of more than
IMPORT_BACKGROUND_ROWS rows runs in a background thread, and the page follows its progress;
a smaller one runs within the request."""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import insert_many, long_statements

from .imports import ImportFileError, Totals, decode, dry_run, number_import, read_rows
from .models import ImportJob, ImportJobRow

logger = logging.getLogger(__name__)

# A running job whose progress has not moved for this long died with its process (a worker
# restart, or gunicorn recycling the worker after max_requests): what its committed batches
# wrote stays, the rest did not happen.
STALLED_AFTER = timedelta(minutes=2)


# Jobs are kept this long, their files with them, then purged when the account uploads again.
KEEP_JOBS = timedelta(days=7)


@transaction.atomic
def import_job_create(*, account: Account, user, filename: str, data: bytes) -> ImportJob:
    """Store an uploaded file as a job, after checking that it is a CSV file we can read.
    Raises ImportFileError otherwise. The dry run is started with import_job_start()."""
    text = decode(data)
    total, _ = read_rows(text)
    ImportJob.objects.filter(account=account, created_at__lt=timezone.now() - KEEP_JOBS).delete()
    return ImportJob.objects.create(
        account=account, created_by=user, filename=filename[:255], content=text, total_rows=total
    )


# The states a run of each phase may start from. A running job only when it has stalled.
_STARTS_FROM = {
    ImportJob.Phase.DRY_RUN: [ImportJob.State.UPLOADED, ImportJob.State.CHECKED, ImportJob.State.FAILED],
    ImportJob.Phase.IMPORT: [ImportJob.State.CHECKED],
}


def import_job_start(*, job: ImportJob, phase: str, actor: Actor | None = None) -> bool:
    """Run the dry run or (with the actor to record) the import of a job: in this request
    for a small file, in a background thread for a large one. Returns False, doing nothing,
    when the job is not in a state to start that run (already running, already imported):
    the state moves in one conditional UPDATE, so two clicks cannot start two runs."""
    state = ImportJob.State.CHECKING if phase == ImportJob.Phase.DRY_RUN else ImportJob.State.IMPORTING
    startable = Q(state__in=_STARTS_FROM[phase])
    if phase == ImportJob.Phase.DRY_RUN:
        stalled_since = timezone.now() - STALLED_AFTER
        startable |= Q(state__in=[ImportJob.State.CHECKING, ImportJob.State.IMPORTING], updated_at__lt=stalled_since)
    started = ImportJob.objects.filter(startable, pk=job.pk).update(
        state=state, phase=phase, processed_rows=0, totals={}, error="", updated_at=timezone.now()
    )
    if not started:
        return False
    job.state, job.phase = state, phase
    if job.total_rows <= settings.IMPORT_BACKGROUND_ROWS:
        run_import_job(job.pk, phase, actor)
        job.refresh_from_db()
        return True
    thread = threading.Thread(target=_run_in_thread, args=(job.pk, phase, actor), daemon=True)
    # After the request's transaction, so the thread sees the job.
    transaction.on_commit(thread.start)
    return True


def _run_in_thread(job_id: int, phase: str, actor: Actor | None) -> None:
    close_old_connections()
    try:
        with long_statements():
            run_import_job(job_id, phase, actor)
    finally:
        connections.close_all()


def run_import_job(job_id: int, phase: str, actor: Actor | None) -> None:
    job = ImportJob.objects.select_related("account").get(pk=job_id)
    totals = Totals()
    try:
        _, rows = read_rows(job.content)
        ImportJobRow.objects.filter(job=job, phase=phase).delete()
        if phase == ImportJob.Phase.DRY_RUN:
            batches = dry_run(account=job.account, rows=rows)
        else:
            batches = number_import(actor=actor, account=job.account, rows=rows)
        for results in batches:
            totals.add(results)
            insert_many(
                ImportJobRow,
                [
                    {
                        "job_id": job.pk,
                        "phase": phase,
                        "line": r.line,
                        "number": r.number[:64],
                        "outcome": str(r.outcome),
                        "message": r.message,
                    }
                    for r in results
                ],
            )
            ImportJob.objects.filter(pk=job.pk).update(
                processed_rows=totals.rows, totals=totals.as_dict(), updated_at=timezone.now()
            )
    except Exception as error:  # the job's page says it failed; the log has the traceback
        logger.exception("Import job %s failed", job_id)
        message = str(error) if isinstance(error, ImportFileError) else "The run stopped on an unexpected error."
        if phase == ImportJob.Phase.IMPORT:
            message += f" The rows before row {totals.rows + 1} were imported; the rest were not."
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.FAILED, error=message, totals=totals.as_dict(), updated_at=timezone.now()
        )
        return
    done = ImportJob.State.CHECKED if phase == ImportJob.Phase.DRY_RUN else ImportJob.State.IMPORTED
    update = {"state": done, "processed_rows": totals.rows, "totals": totals.as_dict(), "updated_at": timezone.now()}
    if done == ImportJob.State.IMPORTED:
        update["content"] = ""  # applied: the file is no longer needed
    ImportJob.objects.filter(pk=job.pk).update(**update)


def import_job_stalled(job: ImportJob) -> bool:
    return job.running and timezone.now() - job.updated_at > STALLED_AFTER
