"""The Jobs page: the account's running and recent background jobs (CSV imports, Twilio
syncs, bulk changes of many numbers), with their state and progress."""

from django.shortcuts import render

from kalem_site.tasks.workers import worker_seen
from kalem_site.web import account_required

from ..models import BulkJob, ImportJob, TwilioSyncJob

RECENT_JOBS = 25


@account_required
def job_list(request):
    account_id = request.user.account_id
    imports = (
        ImportJob.objects.filter(account_id=account_id)
        .select_related("created_by")
        .only(
            "id",
            "filename",
            "state",
            "phase",
            "total_rows",
            "processed_rows",
            "error",
            "attempts",
            "created_at",
            "updated_at",
            "created_by__username",
        )[:RECENT_JOBS]
    )
    syncs = TwilioSyncJob.objects.filter(account_id=account_id).select_related("created_by").defer("report")
    bulks = BulkJob.objects.filter(account_id=account_id).select_related("created_by")
    rows = [("import", job) for job in imports] + [("twilio", job) for job in syncs[:RECENT_JOBS]]
    rows += [("bulk", job) for job in bulks[:RECENT_JOBS]]
    rows.sort(key=lambda row: row[1].created_at, reverse=True)
    running = any(job.running for _, job in rows)
    return render(
        request,
        "numbers_app/job_list.html",
        {"rows": rows[:RECENT_JOBS], "running": running, "no_worker": running and not worker_seen()},
    )
