"""The Import from Twilio page: stored credentials and the sync, which runs as a job of the
queue with a page of its own (running, then its report)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from kalem_site.accounts.crypto import CredentialsUnavailable
from kalem_site.accounts.models import TwilioCredentials
from kalem_site.actors import Actor, Channel
from kalem_site.tasks.workers import worker_seen
from kalem_site.web import account_required, apply_service_errors, get_for_account_or_404

from .. import twilio
from ..forms import TwilioCredentialsForm
from ..models import TwilioSyncJob
from ..twilio_jobs import twilio_sync_job_report, twilio_sync_job_start


def _twilio_page(request, *, form: TwilioCredentialsForm | None = None):
    """The page: the stored credentials (at most the SID's last 4 characters), the form to
    store them, the sync button and the account's recent syncs."""
    credentials = TwilioCredentials.objects.filter(account=request.user.account_id).first()
    sid_hint = credentials_error = None
    if credentials is not None:
        try:
            sid_hint = credentials.account_sid_hint()
        except CredentialsUnavailable as error:
            credentials_error = str(error)
    return render(
        request,
        "numbers_app/twilio.html",
        {
            "form": form or TwilioCredentialsForm(),
            "credentials": credentials,
            "sid_hint": sid_hint,
            "credentials_error": credentials_error,
            "syncs": TwilioSyncJob.objects.filter(account_id=request.user.account_id).select_related("created_by")[:5],
        },
    )


@account_required
def twilio_import(request):
    return _twilio_page(request)


@require_POST
@sensitive_post_parameters("account_sid", "auth_token")
@account_required
def twilio_credentials(request):
    form = TwilioCredentialsForm(request.POST)
    if form.is_valid():
        try:
            twilio.twilio_credentials_set(account=request.user.account, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Twilio credentials stored.")
            return redirect("numbers:twilio")
    return _twilio_page(request, form=form)


@require_POST
@account_required
def twilio_credentials_delete(request):
    if twilio.twilio_credentials_delete(account=request.user.account):
        messages.success(request, "Twilio credentials removed.")
    else:
        messages.info(request, "No Twilio credentials were stored.")
    return redirect("numbers:twilio")


@require_POST
@account_required
def twilio_sync(request):
    """Enqueues the sync (or finds the one already waiting or running) and shows its page.
    Running it again is harmless: it creates only what is still missing."""
    if not TwilioCredentials.objects.filter(account=request.user.account_id).exists():
        messages.error(request, twilio.NO_CREDENTIALS_MESSAGE)
        return _twilio_page(request)
    job = twilio_sync_job_start(
        account=request.user.account, user=request.user, actor=Actor.for_user(request.user, Channel.IMPORT)
    )
    return redirect("numbers:twilio_sync_job", pk=job.pk)


@account_required
def twilio_sync_job(request, pk: int):
    """A sync: waiting or running (the page refreshes itself), then its report or its error."""
    job = get_for_account_or_404(TwilioSyncJob, request, pk)
    report = twilio_sync_job_report(job)
    if report is not None:
        created = len(report.created)
        summary = f"Twilio lists {report.listed} number{pluralize(report.listed)}; {created} created here."
    else:
        summary = ""
    return render(
        request,
        "numbers_app/twilio_sync_job.html",
        {"job": job, "report": report, "summary": summary, "no_worker": job.running and not worker_seen()},
    )
