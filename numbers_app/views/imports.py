"""The CSV import pages: upload, the job's dry run and result, apply, recheck."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kalem_site.actors import Actor, Channel
from kalem_site.tasks.workers import worker_seen
from kalem_site.web import account_required, get_for_account_or_404

from ..forms import ImportUploadForm
from ..import_jobs import import_job_create, import_job_resume, import_job_start
from ..imports import ImportFileError
from ..models import ImportJob, ImportJobRow

IMPORT_ROWS_PER_PAGE = 100


@account_required
def import_upload(request):
    """Upload a CSV file: it is checked (a dry run) before anything is imported."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                account=request.user.account, user=request.user, filename=upload.name, data=upload.read()
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            import_job_start(job=job, phase=ImportJob.Phase.DRY_RUN)
            return redirect("numbers:import-job", pk=job.pk)
    jobs = ImportJob.objects.filter(account_id=request.user.account_id).select_related("created_by").defer("content")
    jobs = jobs[:10]
    return render(request, "numbers_app/import_upload.html", {"form": form, "jobs": jobs})


@account_required
def import_job(request, pk: int):
    """The job's dry run (or, once imported, its result): totals, then row by row, all rows or
    those of one outcome. While it runs (a worker's task), the page refreshes itself (no
    JavaScript needed) and shows the progress the task stores; it says so when no worker runs."""
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    imported = job.phase == ImportJob.Phase.IMPORT
    outcome = request.GET.get("outcome", "")
    rows = ImportJobRow.objects.filter(job=job, phase=job.phase).order_by("line")
    if outcome in ImportJobRow.Outcome.values:
        rows = rows.filter(outcome=outcome)
    else:
        outcome = ""
    page = Paginator(rows, IMPORT_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "numbers_app/import_job.html",
        {
            "job": job,
            "page": page,
            "outcome": outcome,
            "imported": imported,
            # While the run waits or runs: is any worker alive to run it?
            "no_worker": job.running and not worker_seen(),
            "to_apply": job.totals.get(ImportJobRow.Outcome.CREATE, 0) + job.totals.get(ImportJobRow.Outcome.UPDATE, 0),
        },
    )


# Everything the job's page shows; not the file, which may be megabytes.
IMPORT_JOB_FIELDS = (
    "id",
    "account_id",
    "filename",
    "state",
    "phase",
    "total_rows",
    "processed_rows",
    "totals",
    "error",
    "attempts",
    "created_at",
    "updated_at",
)


@require_POST
@account_required
def import_job_apply(request, pk: int):
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    actor = Actor.for_user(request.user, Channel.IMPORT)
    if not import_job_start(job=job, phase=ImportJob.Phase.IMPORT, actor=actor):
        messages.error(request, "Only a file whose dry run has finished can be imported, once.")
    return redirect("numbers:import-job", pk=job.pk)


@require_POST
@account_required
def import_job_recheck(request, pk: int):
    """Run the dry run again: after the data changed, or after a run was interrupted."""
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    if not import_job_start(job=job, phase=ImportJob.Phase.DRY_RUN):
        messages.error(request, "This file cannot be checked again now.")
    return redirect("numbers:import-job", pk=job.pk)


@require_POST
@account_required
def import_job_resume_view(request, pk: int):
    """Take up a failed import where it stopped (its committed batches stay)."""
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    if not import_job_resume(job=job):
        messages.error(request, "Only a failed import can be resumed.")
    return redirect("numbers:import-job", pk=job.pk)
