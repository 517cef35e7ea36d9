"""Dashboard pages for numbers and SIP trunks. Every write goes through numbers_app.services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.crypto import CredentialsUnavailable
from kalem_site.accounts.models import TwilioCredentials
from kalem_site.actors import Actor, Channel
from kalem_site.downloads import csv_download
from kalem_site.paging import per_page_or_default
from kalem_site.web import (
    account_required,
    apply_service_errors,
    dashboard_actor,
    flash_count,
    get_for_account_or_404,
    safe_next_url,
)

from . import services, twilio
from .filters import UNASSIGNED, EventFilter, NumberFilter, TrunkFilter
from .forms import (
    PER_PAGE_CHOICES,
    BulkActionForm,
    ImportUploadForm,
    NumberCreateForm,
    NumberUpdateForm,
    TrunkForm,
    TwilioCredentialsForm,
)
from .import_jobs import import_job_create, import_job_stalled, import_job_start
from .imports import ImportFileError, Outcome
from .models import ImportJob, ImportJobRow, NumberEvent, PhoneNumber, SipTrunk
from .selectors import number_csv_rows, number_routing
from .tally import FACET_COLUMNS, number_facet_counts, number_total


class CountedPaginator(Paginator):
    """A Paginator told its total (from NumberTally) instead of running COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._count = count

    @property
    def count(self) -> int:
        return self._count


def _per_page(request) -> int:
    return per_page_or_default(request.GET.get("per_page"))


def _query_with(params, param: str, value: str | None) -> str:
    """The list's query string with one filter set (or removed), back on page 1."""
    params = params.copy()
    params.pop("page", None)
    params.pop(param, None)
    if value is not None:
        params[param] = value
    return params.urlencode()


def _facet(params, param: str, counts: dict, options, unassigned: bool = False) -> dict:
    """One filter of the sidebar: its choices with their counts and links, the selected one
    marked."""
    selected = params.get(param, "")
    choices = []
    if unassigned:
        choices.append({"value": UNASSIGNED, "label": "Unassigned", "count": counts.get(None, 0)})
    for value, label in options:
        choices.append({"value": str(value), "label": label, "count": counts.get(value, 0)})
    for choice in choices:
        choice["selected"] = choice["value"] == selected
        choice["query"] = _query_with(params, param, choice["value"])
    return {"param": param, "choices": choices, "selected": selected, "clear_query": _query_with(params, param, None)}


@account_required
def number_list(request):
    account = request.user.account
    filterset = NumberFilter(
        request.GET, queryset=PhoneNumber.objects.for_account(account).with_assignments().order_by("id")
    )
    total = number_total(account=account, filters=filterset.valid_values(), numbers=filterset.qs)
    per_page = _per_page(request)
    page = CountedPaginator(filterset.qs, per_page, count=total).get_page(request.GET.get("page"))

    counts = number_facet_counts(account=account, params=request.GET.dict())
    voice_agents = list(VoiceAgent.objects.for_account(account).order_by("name"))
    text_agents = list(TextAgent.objects.for_account(account).order_by("name"))
    trunks = list(SipTrunk.objects.for_account(account).order_by("name"))
    params = request.GET
    facets = [
        ("Status", _facet(params, "status", counts["status"], PhoneNumber.Status.choices)),
        (
            "Voice agent",
            _facet(
                params,
                "voice_agent_id",
                counts["voice_agent_id"],
                [(a.id, a.name) for a in voice_agents],
                unassigned=True,
            ),
        ),
        (
            "Text agent",
            _facet(
                params, "text_agent_id", counts["text_agent_id"], [(a.id, a.name) for a in text_agents], unassigned=True
            ),
        ),
        (
            "SIP trunk",
            _facet(params, "trunk_id", counts["trunk_id"], [(t.id, t.name) for t in trunks], unassigned=True),
        ),
        ("Provider", _facet(params, "provider", counts["provider"], PhoneNumber.Provider.choices)),
    ]
    bulk_form = BulkActionForm(account=account)
    bulk_form.show_choices(voice_agent=voice_agents, text_agent=text_agents, trunk=trunks)
    return render(
        request,
        "numbers_app/number_list.html",
        {
            "page": page,
            "filterset": filterset,
            "facets": facets,
            "per_page": per_page,
            "per_page_choices": PER_PAGE_CHOICES,
            "bulk_form": bulk_form,
            "is_filtered": any(params.get(param) for param in (*FACET_COLUMNS, "search")),
        },
    )


@account_required
def number_export(request):
    """The list as CSV, with the filters of the page it was asked from (invalid ones ignored,
    as the page ignores them)."""
    filterset = NumberFilter(request.GET, queryset=PhoneNumber.objects.for_account(request.user.account))
    filterset.valid_values()
    return csv_download(number_csv_rows(filterset.qs), "numbers.csv")


@account_required
def number_create(request):
    account = request.user.account
    form = NumberCreateForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            number = services.number_create(actor=dashboard_actor(request), account=account, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Number {number.number} added.")
            return redirect("numbers:list")
    return render(request, "numbers_app/number_create.html", {"form": form})


@account_required
def number_detail(request, pk: int):
    account = request.user.account
    number = get_for_account_or_404(PhoneNumber.objects.with_assignments(), request, pk)
    initial = {field: getattr(number, field) for field in services.NUMBER_UPDATABLE_FIELDS}
    form = NumberUpdateForm(request.POST or None, initial=initial, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.number_update(actor=dashboard_actor(request), number=number, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        except PhoneNumber.DoesNotExist:  # deleted while the form was being sent
            raise Http404 from None
        else:
            messages.success(request, f"Number {number.number} saved.")
            return redirect("numbers:detail", pk=number.pk)
    routable, reasons = number_routing(number)
    events = NumberEvent.objects.for_account(account).filter(number_id=number.pk).newest_first()
    return render(
        request,
        "numbers_app/number_detail.html",
        {
            "number": number,
            "form": form,
            "routable": routable,
            "routing_reasons": reasons,
            # One more than shown, to know whether to link to the rest.
            "events": list(events[: TIMELINE_LENGTH + 1]),
            "timeline_length": TIMELINE_LENGTH,
        },
    )


# How many of its latest events a number's page shows; the Activity page has the rest.
TIMELINE_LENGTH = 10


@account_required
def activity(request):
    """Every change to the account's numbers, newest first, with the API's filters (invalid
    ones shown and ignored)."""
    account_id = request.user.account_id
    filterset = EventFilter(request.GET, queryset=NumberEvent.objects.filter(account_id=account_id).newest_first())
    filterset.is_valid()  # the page lists the errors; `qs` applies only the valid filters
    page = Paginator(filterset.qs, _per_page(request)).get_page(request.GET.get("page"))
    # Which of the page's numbers still exist, to link only to those.
    number_ids = {event.number_id for event in page}
    existing = set(PhoneNumber.objects.filter(account_id=account_id, pk__in=number_ids).values_list("pk", flat=True))
    return render(
        request,
        "numbers_app/activity.html",
        {"page": page, "filterset": filterset, "existing_numbers": existing},
    )


@account_required
def number_delete(request, pk: int):
    number = get_for_account_or_404(PhoneNumber.objects.with_assignments(), request, pk)
    if request.method == "POST":
        try:
            services.number_delete(actor=dashboard_actor(request), number=number)
        except PhoneNumber.DoesNotExist:  # deleted meanwhile
            raise Http404 from None
        messages.success(request, f"Number {number.number} deleted.")
        return redirect(safe_next_url(request, reverse("numbers:list")))
    return render(request, "numbers_app/number_confirm_delete.html", {"number": number})


def _set_status(request, pk: int, *, active: bool):
    number = get_for_account_or_404(PhoneNumber, request, pk)
    try:
        services.number_set_status(actor=dashboard_actor(request), number=number, active=active)
    except PhoneNumber.DoesNotExist:  # deleted meanwhile
        raise Http404 from None
    messages.success(request, f"Number {number.number} {'activated' if active else 'deactivated'}.")
    return redirect(safe_next_url(request, reverse("numbers:list")))


@require_POST
@account_required
def number_activate(request, pk: int):
    return _set_status(request, pk, active=True)


@require_POST
@account_required
def number_deactivate(request, pk: int):
    return _set_status(request, pk, active=False)


@require_POST
@account_required
def number_bulk(request):
    """Bulk actions on the rows selected in the list. Deleting asks for confirmation first."""
    account = request.user.account
    back = safe_next_url(request, reverse("numbers:list"))
    form = BulkActionForm(request.POST, account=account)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    ids, action = form.cleaned_data["ids"], form.cleaned_data["action"]
    try:
        if action in ("activate", "deactivate"):
            status = PhoneNumber.Status.ACTIVE if action == "activate" else PhoneNumber.Status.INACTIVE
            flash_count(
                request,
                services.number_bulk_update(actor=dashboard_actor(request), account=account, ids=ids, status=status),
                f"{action}d",
            )
        elif action.startswith("assign_"):
            field = action.removeprefix("assign_")
            target = form.cleaned_data[field]
            changed = services.number_bulk_update(
                actor=dashboard_actor(request), account=account, ids=ids, **{field: target}
            )
            label = {"voice_agent": "voice agent", "text_agent": "text agent", "trunk": "SIP trunk"}[field]
            flash_count(
                request, changed, f"assigned to {label} {target.name}" if target else f"unassigned from their {label}"
            )
        elif request.POST.get("confirm") == "yes":
            flash_count(
                request,
                services.number_bulk_delete(actor=dashboard_actor(request), account=account, ids=ids),
                "deleted",
            )
        else:
            numbers = PhoneNumber.objects.for_account(account).filter(pk__in=ids).order_by("id")
            return render(request, "numbers_app/number_bulk_confirm_delete.html", {"numbers": numbers, "next": back})
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect(back)


# SIP trunks


@account_required
def trunk_list(request):
    filterset = TrunkFilter(
        request.GET,
        queryset=SipTrunk.objects.for_account(request.user.account_id).with_numbers_count().order_by("name", "id"),
    )
    page = Paginator(filterset.qs, _per_page(request)).get_page(request.GET.get("page"))
    return render(request, "numbers_app/trunk_list.html", {"page": page, "filterset": filterset})


@account_required
def trunk_form(request, pk: int | None = None):
    account = request.user.account
    trunk = get_for_account_or_404(SipTrunk, request, pk) if pk else SipTrunk(account=account)
    form = TrunkForm(request.POST or None, instance=trunk)
    if request.method == "POST" and form.is_valid():
        try:
            if pk:
                services.trunk_update(actor=dashboard_actor(request), trunk=trunk, **form.changes())
            else:
                trunk = services.trunk_create(account=account, **form.changes())
        except ValidationError as error:
            if pk:
                trunk.refresh_from_db()  # the page shows the stored trunk, the form what was sent
            apply_service_errors(form, error)
        except SipTrunk.DoesNotExist:  # deleted while the form was being sent
            raise Http404 from None
        else:
            messages.success(request, f"SIP trunk {trunk.name} saved.")
            return redirect("trunks:list")
    return render(request, "numbers_app/trunk_form.html", {"form": form, "trunk": trunk})


@account_required
def trunk_delete(request, pk: int):
    trunk = get_for_account_or_404(SipTrunk.objects.with_numbers_count(), request, pk)
    if request.method == "POST":
        unassigned = services.trunk_delete(actor=dashboard_actor(request), trunk=trunk)
        messages.success(
            request, f"SIP trunk {trunk.name} deleted; {unassigned} number{pluralize(unassigned)} unassigned."
        )
        return redirect("trunks:list")
    return render(request, "numbers_app/trunk_confirm_delete.html", {"trunk": trunk})


# Import from Twilio


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


# CSV import


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
            import_job_start(job=job, phase=ImportJobRow.Phase.DRY_RUN)
            return redirect("numbers:import-job", pk=job.pk)
    jobs = ImportJob.objects.filter(account_id=request.user.account_id).select_related("created_by").defer("content")
    jobs = jobs[:10]
    return render(request, "numbers_app/import_upload.html", {"form": form, "jobs": jobs})


IMPORT_ROWS_PER_PAGE = 100


@account_required
def import_job(request, pk: int):
    """The job's dry run (or, once imported, its result): totals, then row by row, all rows or
    those of one outcome. While it runs, the page refreshes itself (no JavaScript needed)."""
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    imported = job.phase == ImportJobRow.Phase.IMPORT
    outcome = request.GET.get("outcome", "")
    rows = ImportJobRow.objects.filter(job=job, phase=job.phase).order_by("line")
    if outcome in Outcome.values:
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
            "stalled": import_job_stalled(job),
            "to_apply": job.totals.get(Outcome.CREATE, 0) + job.totals.get(Outcome.UPDATE, 0),
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
    "created_at",
    "updated_at",
)


@require_POST
@account_required
def import_job_apply(request, pk: int):
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    actor = Actor.for_user(request.user, Channel.IMPORT)
    if not import_job_start(job=job, phase=ImportJobRow.Phase.IMPORT, actor=actor):
        messages.error(request, "Only a file whose dry run has finished can be imported, once.")
    return redirect("numbers:import-job", pk=job.pk)


@require_POST
@account_required
def import_job_recheck(request, pk: int):
    """Run the dry run again: after the data changed, or after a run was interrupted."""
    job = get_for_account_or_404(ImportJob.objects.only(*IMPORT_JOB_FIELDS), request, pk)
    if not import_job_start(job=job, phase=ImportJobRow.Phase.DRY_RUN):
        messages.error(request, "This file cannot be checked again now.")
    return redirect("numbers:import-job", pk=job.pk)
