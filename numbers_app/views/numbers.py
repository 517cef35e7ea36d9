"""Dashboard pages for numbers: the list, its export and bulk actions, add, detail, delete,
activate/deactivate. Every write goes through numbers_app.services."""

from functools import partial
from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from kalem_site.downloads import csv_download
from kalem_site.ordering import naturally_sorted
from kalem_site.paging import CountedPaginator
from kalem_site.tasks.workers import worker_seen
from kalem_site.web import (
    account_required,
    apply_service_errors,
    confirm_delete,
    dashboard_actor,
    flash_count,
    get_for_account_or_404,
    safe_next_url,
)

from .. import bulk_jobs, services
from ..bulk_jobs import NumberSelection, number_bulk_by_filter
from ..filters import ROUTABLE_CHOICES, UNASSIGNED, NumberFilter
from ..forms import BulkActionForm, NumberCreateForm, NumberUpdateForm, PerPageForm
from ..hot_reads import number_page_rows
from ..models import ASSIGNMENTS, BulkJob, NumberEvent, PhoneNumber
from ..phone import pasted_search
from ..selectors import account_assignees, number_csv_rows, number_routing
from ..shapes import NUMBER_COLUMNS
from ..tally import FACETS, FacetCounts, narrows, number_facet_counts, number_total
from .listing import facet, requested_per_page, shorten_facet

# How many of its latest events a number's page shows; the Activity page has the rest.
TIMELINE_LENGTH = 10

# The marker the search forms send (`?search=…&jump=1`): a search of exactly one number opens
# that number's page. A link to the list (a bookmark, a facet) has no marker and lists it.
JUMP = "jump"


def _list_params(request):
    """The list's filters as the dashboard reads them: the search as typed or pasted, a whole
    national number read in the account's default country (phone.pasted_search)."""
    params = request.GET.copy()
    if params.get("search"):
        params["search"] = pasted_search(params["search"], request.user.account.default_country)
    return params


def _jump(request, numbers):
    """Where a search sent from a search form goes: the number's page when exactly one
    matches, else the list of them, at its own address (without the marker)."""
    found = list(numbers.values_list("pk", flat=True)[:2])
    if len(found) == 1:
        return redirect("numbers:detail", pk=found[0])
    params = request.GET.copy()
    params.pop(JUMP)
    return redirect(f"{reverse('numbers:list')}?{params.urlencode()}" if params else reverse("numbers:list"))


@account_required
def number_list(request):
    account = request.user.account
    query = _list_params(request)
    filterset = NumberFilter(query, queryset=PhoneNumber.objects.for_account(account).with_assignments().order_by("id"))
    valid = filterset.valid_values()
    # An invalid search (letters, too long) is kept: it matches nothing, and the page says
    # why. Other invalid filters (only a hand-edited address has them) are shown and ignored.
    search_error = filterset.errors.get("search")
    numbers = PhoneNumber.objects.none() if search_error else filterset.qs
    if request.GET.get(JUMP):
        return _jump(request, numbers)
    total = 0 if search_error else number_total(account=account, filters=valid, numbers=numbers)
    per_page = requested_per_page(request)
    # The rows as `.values(*NUMBER_COLUMNS)` dicts (number_rows writes them); without any
    # filter, read by the API's compiled query for the unfiltered list (the same SQL).
    unfiltered = not search_error and not narrows(valid)
    page = CountedPaginator(
        numbers,
        per_page,
        count=total,
        values=NUMBER_COLUMNS,
        read=partial(number_page_rows, account.id) if unfiltered else None,
    ).get_page(request.GET.get("page"))

    if search_error:
        counts = FacetCounts({param: {} for param in FACETS})
    else:
        counts = number_facet_counts(account=account, valid=valid)
    # The account's agents and trunks, read once for both the sidebar and the bulk form.
    # One query for the three, in natural order ("Agent 2" before "Agent 10").
    assignees = {name: naturally_sorted(loaded) for name, loaded in account_assignees(account).items()}
    params = request.GET
    facets = [
        ("Status", facet(params, "status", counts["status"], PhoneNumber.Status.choices)),
        ("Routing", facet(params, "routable", counts["routable"], ROUTABLE_CHOICES)),
    ]
    for name, model in ASSIGNMENTS.items():
        choices = [(o.id, o.name) for o in assignees[name]]
        named = facet(params, f"{name}_id", counts[f"{name}_id"], choices, unassigned=True)
        facets.append((model.kind_title, shorten_facet(params, named)))
    facets.append(("Provider", facet(params, "provider", counts["provider"], PhoneNumber.Provider.choices)))
    bulk_form = BulkActionForm(account=account)
    bulk_form.show_choices(**assignees)
    return render(
        request,
        "numbers_app/number_list.html",
        {
            "page": page,
            "filterset": filterset,
            "facets": facets,
            # With a search matching many numbers, the counts are lower bounds (tally.py).
            "facets_sample": f"{counts.sample:,}" if counts.sample else None,
            "per_page_form": PerPageForm(initial={"per_page": per_page}),
            "bulk_form": bulk_form,
            "is_filtered": any(params.get(param) for param in (*FACETS, "search")),
            "search_error": search_error,
            # What filter_errors.html lists as ignored: the search is not among them.
            "ignored_filters": SimpleNamespace(
                errors={name: errors for name, errors in filterset.errors.items() if name != "search"}
            ),
            # The valid filters, for the bulk form's "apply to all matching".
            "filter_query": urlencode({name: params[name] for name in valid if params.get(name)}),
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
    return confirm_delete(
        request,
        title=f"Delete {number.number}",
        question=f"Delete {number.number}?",
        consequence="The number is removed from this account. Its agents and trunk stay.",
        hidden=[("next", request.GET.get("next", ""))],
        cancel_url=reverse("numbers:detail", args=[number.pk]),
    )


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


# How many of the numbers a bulk confirmation names; the rest are counted.
CONFIRM_SAMPLE = 10


def _describe_filters(account, values: dict) -> str:
    """The list's filters in words, for a confirmation: "Status: Active; Voice agent: Sales"."""
    parts = []
    for name, value in values.items():
        if value in (None, ""):
            continue
        declared = NumberFilter.base_filters[name]
        field = name.removesuffix("_id")
        if field in ASSIGNMENTS:
            model = ASSIGNMENTS[field]
            if value == UNASSIGNED:
                shown = "unassigned"
            else:
                shown = model.objects.for_account(account).filter(pk=value).values_list("name", flat=True).first()
                shown = shown or f"#{value} (not in this account)"
            parts.append(f"{model.kind_title}: {shown}")
        elif name == "search":
            parts.append(f"Search: {value}")
        else:
            label = declared.label or name.replace("_", " ").capitalize()
            choices = dict(declared.extra.get("choices", ()))
            parts.append(f"{label}: {choices.get(value, value)}")
    return "; ".join(parts)


def _action_words(action: str, field: str | None, target, count: int, where: str) -> tuple[str, str]:
    """The confirmation's question and its button, e.g. ("Unassign the voice agent of 3
    numbers?", "Yes, unassign 3")."""
    numbers = f"{count:,} number{pluralize(count)}{where}"
    if action == "delete":
        return f"Delete {numbers}?", f"Yes, delete {count:,}"
    if field and target is None:
        return f"Unassign the {ASSIGNMENTS[field].kind_label} of {numbers}?", f"Yes, unassign {count:,}"
    if field:
        label = ASSIGNMENTS[field].kind_label
        return f"Set {label} {target.name} on {numbers}?", f"Yes, set it on {count:,}"
    return f"{action.capitalize()} {numbers}?", f"Yes, {action} {count:,}"


def _bulk_confirm(request, form, *, count: int, sample: list[str], where: str, hidden: list, back: str):
    action, field = form.cleaned_data["action"], form.assigned_field()
    target = (form.assignment() or {}).get(field)
    question, confirm = _action_words(action.partition("_")[0], field, target, count, where)
    if form.cleaned_data["scope"] == "all" and count > bulk_jobs.BULK_AT_ONCE:
        consequence = (
            f"More than {bulk_jobs.BULK_AT_ONCE:,} numbers: the change runs in the background, and its page follows the "
            "progress. The numbers matching now are the ones changed; one changed meanwhile so that it no longer "
            "matches is left alone."
        )
    elif form.cleaned_data["scope"] == "all":
        consequence = "The numbers matching when you confirm are changed, at once."
    else:
        consequence = ""
    if action == "delete":
        consequence = f"{consequence} The numbers are removed from this account; their agents and trunks stay.".strip()
    posted = [(name, value) for name, value in hidden if value not in (None, "")]
    return render(
        request,
        "numbers_app/bulk_confirm.html",
        {
            "question": question,
            "consequence": consequence,
            "sample": sample,
            "more": count - len(sample),
            "hidden": [*posted, ("confirm", "yes"), ("next", back)],
            "confirm": confirm,
            "danger": action == "delete" or (field is not None and target is None),
            "cancel_url": back,
        },
    )


def _needs_confirmation(form) -> bool:
    """Deleting, unassigning, and anything on every matching number ask first."""
    action = form.cleaned_data["action"]
    return action == "delete" or action.startswith("unassign_") or form.cleaned_data["scope"] == "all"


def _flash_errors(request, errors: dict) -> None:
    for field_errors in errors.values():
        for error in field_errors:
            messages.error(request, error)


@require_POST
@account_required
def number_bulk(request):
    """Bulk actions on the rows selected in the list, or on every number matching its
    filters. Deleting, unassigning and acting on all matching numbers ask for confirmation
    first; more than BULK_AT_ONCE matching numbers are changed by a background job."""
    account = request.user.account
    back = safe_next_url(request, reverse("numbers:list"))
    form = BulkActionForm(request.POST, account=account)
    if not form.is_valid():
        _flash_errors(request, form.errors)
        return redirect(back)
    data = form.cleaned_data
    action, assignment, field = data["action"], form.assignment(), form.assigned_field()
    service_action = "assign" if field else action
    confirmed = request.POST.get("confirm") == "yes"
    hidden = [("action", action), ("scope", data["scope"])]
    if field and assignment[field] is not None:
        hidden.append((field, assignment[field].pk))
    if data["scope"] == "all":
        filters = {
            name: value for name, value in QueryDict(data["filter"]).items() if name in NumberFilter.base_filters
        }
        try:
            selection = NumberSelection(account=account, filters=filters)
        except ValidationError as error:
            _flash_errors(request, error.message_dict)
            return redirect(back)
        if not confirmed:
            count = number_total(account=account, filters=selection.values, numbers=selection.numbers)
            sample = list(selection.numbers.order_by("id").values_list("number", flat=True)[:CONFIRM_SAMPLE])
            described = _describe_filters(account, selection.values)
            where = f" matching {described}" if described else " in this account"
            hidden.append(("filter", urlencode(selection.filters)))
            return _bulk_confirm(request, form, count=count, sample=sample, where=where, hidden=hidden, back=back)
        try:
            outcome = number_bulk_by_filter(
                actor=dashboard_actor(request),
                account=account,
                action=service_action,
                filters=selection.filters,
                assignments=assignment,
                user=request.user,
            )
        except ValidationError as error:
            _flash_errors(request, {"": error.messages})
            return redirect(back)
        if isinstance(outcome, BulkJob):
            messages.info(request, f"Changing {outcome.total:,} numbers in the background.")
            return redirect("numbers:bulk-job", pk=outcome.pk)
        changed = outcome.changed
    else:
        ids = data["ids"]
        if _needs_confirmation(form) and not confirmed:
            numbers = list(
                PhoneNumber.objects.for_account(account).filter(pk__in=ids).order_by("id").values("id", "number")
            )
            hidden += [("ids", number["id"]) for number in numbers]
            sample = [number["number"] for number in numbers]
            return _bulk_confirm(request, form, count=len(numbers), sample=sample, where="", hidden=hidden, back=back)
        try:
            _, changed = services.number_bulk_apply(
                actor=dashboard_actor(request), account=account, action=service_action, ids=ids, assignments=assignment
            )
        except ValidationError as error:
            _flash_errors(request, {"": error.messages})
            return redirect(back)
    if field:
        label, target = ASSIGNMENTS[field].kind_label, assignment[field]
        flash_count(
            request, changed, f"assigned to {label} {target.name}" if target else f"unassigned from their {label}"
        )
    else:
        flash_count(request, changed, f"{action}d")  # activated, deactivated, deleted
    return redirect(back)


@account_required
def bulk_job(request, pk: int):
    """A bulk change running in the background: its progress (the page refreshes itself),
    then its outcome."""
    job = get_for_account_or_404(BulkJob.objects.select_related("created_by"), request, pk)
    account = request.user.account
    changes = []
    for field, target in job.assignments.items():
        model = ASSIGNMENTS[field]
        if target is None:
            changes.append(f"unassign the {model.kind_label}")
        else:
            name = model.objects.for_account(account).filter(pk=target).values_list("name", flat=True).first()
            changes.append(f"set {model.kind_label} {name or f'#{target} (deleted)'}")
    try:
        described = _describe_filters(account, NumberSelection(account=account, filters=job.filters).values)
    except ValidationError:  # recorded as given; a filter that no longer validates is shown raw
        described = urlencode(job.filters)
    return render(
        request,
        "numbers_app/bulk_job.html",
        {
            "job": job,
            "what": ", ".join(changes) if changes else job.get_action_display().lower(),
            "described": f"the numbers matching {described}" if described else "every number of the account",
            "no_worker": job.running and not worker_seen(),
        },
    )
