"""The numbers app's periodic tasks (settings.PERIODIC_TASKS). The jobs' own tasks live with
their jobs: import_jobs.import_job_task, twilio_jobs.twilio_sync_task, bulk_jobs.bulk_job_task."""

from django_tasks import task

from .bulk_jobs import bulk_jobs_purge, bulk_jobs_reap
from .import_jobs import KEEP_JOBS, import_jobs_purge, import_jobs_reap
from .twilio_jobs import twilio_sync_jobs_purge, twilio_sync_jobs_reap


@task()
def purge_import_jobs() -> int:
    """CSV import jobs (and Twilio sync jobs, and finished bulk jobs) older than 7 days."""
    return import_jobs_purge() + twilio_sync_jobs_purge(KEEP_JOBS) + bulk_jobs_purge()


@task()
def reap_jobs() -> int:
    """Jobs whose worker died (or lost the database) taken up again, or given up."""
    return import_jobs_reap() + twilio_sync_jobs_reap() + bulk_jobs_reap()
