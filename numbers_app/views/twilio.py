"""The Import from Twilio page: stored credentials and the sync."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from kalem_site.accounts.crypto import CredentialsUnavailable
from kalem_site.accounts.models import TwilioCredentials
from kalem_site.actors import Actor, Channel
from kalem_site.web import account_required, apply_service_errors

from .. import twilio
from ..forms import TwilioCredentialsForm


def _twilio_page(request, *, form: TwilioCredentialsForm | None = None, report: twilio.TwilioSyncReport | None = None):
    """The page: the stored credentials (at most the SID's last 4 characters), the form to
    store them, the sync button and, after a sync, its report."""
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
            "report": report,
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
    """Runs the sync and shows its report on this response (running it again is harmless:
    it creates only what is still missing)."""
    try:
        report = twilio.twilio_sync(actor=Actor.for_user(request.user, Channel.IMPORT), account=request.user.account)
    except twilio.TwilioSyncError as error:
        messages.error(request, str(error))
        return _twilio_page(request)
    created = len(report.created)
    messages.success(request, f"Twilio lists {report.listed} number{pluralize(report.listed)}; {created} created here.")
    return _twilio_page(request, report=report)
