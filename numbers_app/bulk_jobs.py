"""Bulk actions on every number matching the list's filters ("all N numbers matching this
filter"), for the API and the dashboard alike.

Up to BULK_AT_ONCE matching numbers are changed at once, in the caller's request, by
number_bulk_apply. More become a BulkJob: the ids that match are snapshotted in the
transaction that confirms the action (one INSERT … SELECT), and a worker changes them in
chunks of CHUNK_SIZE in id order, each chunk through number_bulk_apply (its audit events and
webhook messages with it) together with the job's progress, in one transaction. A job taken
up again after its worker died (numbers_app.jobs.reap) continues after the last committed
chunk: no number is changed twice, none half.

What a job acts on: the numbers of the snapshot that still match the filter when their chunk
is reached. A number created meanwhile is not in the snapshot (the count confirmed is the
most that changes); one changed meanwhile so that it no longer matches (moved to another
trunk by someone else, say) is left alone, and one deleted meanwhile is gone: both are
counted as `skipped`."""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import long_statements
from kalem_site.tasks.workers import DATABASE_ERRORS

from . import jobs
from .filters import NumberFilter
from .models import ASSIGNMENTS, BulkJob, BulkJobNumber, PhoneNumber
from .services import BULK_ACTIONS, BulkOutcome, check_same_account, number_bulk_apply

logger = logging.getLogger(__name__)

# The most numbers a bulk action by filter changes in the request; more go to the queue.
BULK_AT_ONCE = 1000
# Numbers per transaction of a job.
CHUNK_SIZE = 1000
RUNNING = [BulkJob.State.QUEUED, BulkJob.State.RUNNING]
# Finished jobs are kept this long (numbers_app.tasks purges them).
KEEP_JOBS = timedelta(days=7)
UNEXPECTED_MESSAGE = "The job stopped on an unexpected error."


class NumberSelection:
    """The account's numbers matching the list's filters, given as the list's query
    parameters ({name: string}). Raises ValidationError ({filter name: messages}) when a
    value is invalid or a name is not a filter of the list."""

    def __init__(self, *, account: Account, filters: dict[str, str]):
        unknown = sorted(set(filters) - set(NumberFilter.base_filters))
        if unknown:
            raise ValidationError({name: "Unknown filter." for name in unknown})
        # Empty values are no filter, as in the list's query string; kept out of the record.
        self.filters = {name: value for name, value in filters.items() if value not in ("", None)}
        self.account = account
        filterset = NumberFilter(self.filters, queryset=PhoneNumber.objects.for_account(account))
        if not filterset.is_valid():
            raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
        self.numbers = filterset.qs
        self.values = filterset.form.cleaned_data


def number_bulk_by_filter(
    *,
    actor: Actor,
    account: Account,
    action: str,
    filters: dict[str, str],
    assignments: dict | None = None,
    user=None,
) -> BulkOutcome | BulkJob:
    """One of BULK_ACTIONS on every number of the account matching `filters` (the list's
    query parameters; {} is the whole account). `assignments` as number_bulk_apply takes
    them. Returns number_bulk_apply's outcome when at most BULK_AT_ONCE numbers match, else
    the BulkJob enqueued to change them. Raises ValidationError for invalid filters."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"number_bulk_by_filter() action must be one of {BULK_ACTIONS}, got {action!r}")
    assignments = assignments or {}
    if (action == "assign") != bool(assignments) or set(assignments) - set(ASSIGNMENTS):
        raise TypeError(f"number_bulk_by_filter() got assignments {sorted(assignments)} for {action}")
    check_same_account(account.id, assignments)
    selection = NumberSelection(account=account, filters=filters)
    with transaction.atomic():
        ids = list(selection.numbers.order_by("id").values_list("id", flat=True)[: BULK_AT_ONCE + 1])
        if len(ids) <= BULK_AT_ONCE:
            return number_bulk_apply(actor=actor, account=account, action=action, ids=ids, assignments=assignments)
        job = BulkJob.objects.create(
            account=account,
            created_by=user,
            actor=actor.__dict__,
            action=action,
            assignments={field: getattr(value, "pk", None) for field, value in assignments.items()},
            filters=selection.filters,
        )
        job.total = _snapshot(job, selection)
        job.task_id = str(bulk_job_task.enqueue(job.pk).id)
        job.save(update_fields=["total", "task_id"])
    return job


def _snapshot(job: BulkJob, selection: NumberSelection) -> int:
    """Store the ids of the numbers matching now, in one INSERT … SELECT (a million ids never
    pass through Python). Returns how many."""
    numbers = selection.numbers.order_by().values("id")
    sql, params = numbers.query.sql_with_params()
    connection = connections[router.db_for_write(BulkJobNumber)]
    quote = connection.ops.quote_name
    table = quote(BulkJobNumber._meta.db_table)
    insert = (
        f"INSERT INTO {table} ({quote('job_id')}, {quote('number_id')}) "
        f"SELECT %s, matching.{quote('id')} FROM ({sql}) matching"
    )
    # A million ids take seconds: the long statement timeout, for this statement.
    with long_statements(connection.alias), connection.cursor() as cursor:
        cursor.execute(insert, (job.pk, *params))
        return cursor.rowcount


@task(takes_context=True)
def bulk_job_task(context, job_id: int) -> None:
    run_bulk_job(job_id, str(context.task_result.id))


def run_bulk_job(job_id: int, task_id: str) -> None:
    """Run (or continue) the job, chunk by chunk, if this task owns it."""
    claimed = BulkJob.objects.filter(pk=job_id, task_id=task_id, state__in=RUNNING).update(
        state=BulkJob.State.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        logger.info("Bulk job %s is no longer run by task %s; not run.", job_id, task_id)
        return
    try:
        while _run_chunk(job_id, task_id):
            pass
    except jobs.Superseded as superseded:
        logger.warning("%s; stopped.", superseded)
    except DATABASE_ERRORS:
        raise  # the database went away: the job stays running, and the reaper resumes it
    except Exception as error:  # the job's page says it failed; the log has the traceback
        if isinstance(error, ValidationError):  # e.g. the agent it assigns was deleted meanwhile
            logger.warning("Bulk job %s failed: %s", job_id, error.messages[0])
            message = error.messages[0]
        else:
            logger.exception("Bulk job %s failed", job_id)
            message = UNEXPECTED_MESSAGE
        job = BulkJob.objects.get(pk=job_id)
        message += f" {job.processed} of {job.total} numbers were done before it stopped; the rest were not changed."
        BulkJob.objects.filter(pk=job_id, task_id=task_id).update(
            state=BulkJob.State.FAILED, error=message, updated_at=timezone.now(), finished_at=timezone.now()
        )


def _assignees(job: BulkJob) -> dict:
    """The agents and trunks the job assigns, as they are now; ValidationError if one was
    deleted meanwhile."""
    assignees = {}
    for field, pk in job.assignments.items():
        if pk is None:
            assignees[field] = None
            continue
        model = ASSIGNMENTS[field]
        assignees[field] = model.objects.filter(account_id=job.account_id, pk=pk).first()
        if assignees[field] is None:
            raise ValidationError(f"{model.kind_title} {pk} was deleted while the job ran.")
    return assignees


@transaction.atomic
def _run_chunk(job_id: int, task_id: str) -> bool:
    """Change the next chunk of the snapshot and record the progress, in one transaction.
    Returns False once there is nothing left (the job is then done)."""
    jobs.check_owner(BulkJob, job_id, task_id, RUNNING)
    job = BulkJob.objects.select_related("account").get(pk=job_id)
    chunk = list(
        BulkJobNumber.objects.filter(job_id=job_id, number_id__gt=job.last_number_id)
        .order_by("number_id")
        .values_list("number_id", flat=True)[:CHUNK_SIZE]
    )
    now = timezone.now()
    if not chunk:
        BulkJobNumber.objects.filter(job_id=job_id).delete()
        BulkJob.objects.filter(pk=job_id).update(state=BulkJob.State.DONE, updated_at=now, finished_at=now)
        return False
    # The chunk's numbers that still match, locked: PostgreSQL checks the filter again on
    # each row once its lock is granted, so a number changed meanwhile is seen as it is.
    matching = list(
        NumberSelection(account=job.account, filters=job.filters)
        .numbers.filter(pk__in=chunk)
        .select_for_update(of=("self",))
        .order_by("id")
        .values_list("id", flat=True)
    )
    changed = 0
    if matching:
        _, changed = number_bulk_apply(
            actor=Actor(**job.actor),
            account=job.account,
            action=job.action,
            ids=matching,
            assignments=_assignees(job),
        )
    BulkJob.objects.filter(pk=job_id).update(
        processed=job.processed + len(chunk),
        changed=job.changed + changed,
        unchanged=job.unchanged + len(matching) - changed,
        skipped=job.skipped + len(chunk) - len(matching),
        last_number_id=chunk[-1],
        updated_at=now,
    )
    return True


def _give_up(job: BulkJob) -> dict:
    message = (
        f"The job was interrupted {job.attempts + 1} times (its worker stopped) and was given up. "
        f"{job.processed} of {job.total} numbers were done; the rest were not changed."
    )
    return {"state": BulkJob.State.FAILED, "error": message, "finished_at": timezone.now()}


def bulk_jobs_reap() -> int:
    return jobs.reap(BulkJob, RUNNING, bulk_job_task, _give_up)


def bulk_jobs_purge() -> int:
    """Finished jobs older than KEEP_JOBS, with what is left of their snapshots."""
    old = BulkJob.objects.filter(created_at__lt=timezone.now() - KEEP_JOBS).filter(~Q(state__in=RUNNING))
    ids = list(old.values_list("pk", flat=True))
    BulkJobNumber.objects.filter(job_id__in=ids).delete()
    deleted, _ = BulkJob.objects.filter(pk__in=ids).delete()
    return deleted
