"""Dashboard pages for numbers: the list, its export and bulk actions, add, detail, delete,
activate/deactivate. Every write goes through numbers_app.services."""

from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from kalem_site.downloads import csv_download
from kalem_site.ordering import naturally_sorted
from kalem_site.web import (
    account_required,
    apply_service_errors,
    confirm_delete,
    dashboard_actor,
    flash_count,
    get_for_account_or_404,
    safe_next_url,
)

from .. import services
from ..filters import ROUTABLE_CHOICES, NumberFilter
from ..forms import BulkActionForm, NumberCreateForm, NumberUpdateForm, PerPageForm
from ..models import ASSIGNMENTS, NumberEvent, PhoneNumber
from ..phone import pasted_search
from ..selectors import number_csv_rows, number_routing
from ..tally import FACET_COLUMNS, number_facet_counts, number_total
from .listing import CountedPaginator, facet, requested_per_page, shorten_facet

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
    page = CountedPaginator(numbers, per_page, count=total).get_page(request.GET.get("page"))

    if search_error:
        counts = {param: {} for param in (*FACET_COLUMNS, "routable")}
    else:
        counts = number_facet_counts(account=account, params=query.dict())
    # The account's agents and trunks, read once for both the sidebar and the bulk form.
    assignees = {name: naturally_sorted(model.objects.for_account(account)) for name, model in ASSIGNMENTS.items()}
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
            "per_page_form": PerPageForm(initial={"per_page": per_page}),
            "bulk_form": bulk_form,
            "is_filtered": any(params.get(param) for param in (*FACET_COLUMNS, "routable", "search")),
            "search_error": search_error,
            # What filter_errors.html lists as ignored: the search is not among them.
            "ignored_filters": SimpleNamespace(
                errors={name: errors for name, errors in filterset.errors.items() if name != "search"}
            ),
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
    if action == "delete" and request.POST.get("confirm") != "yes":
        numbers = list(PhoneNumber.objects.for_account(account).filter(pk__in=ids).order_by("id"))
        count = len(numbers)
        return confirm_delete(
            request,
            title="Delete numbers",
            question=f"Delete {count} number{pluralize(count)}?",
            items=[number.number for number in numbers],
            hidden=[
                *(("ids", number.pk) for number in numbers),
                ("action", "delete"),
                ("confirm", "yes"),
                ("next", back),
            ],
            action=reverse("numbers:bulk"),
            confirm=f"Yes, delete {count}",
            cancel_url=back,
        )
    # The form's "assign_trunk" is the service's "assign" with {"trunk": the chosen trunk}.
    field = action.removeprefix("assign_") if action.startswith("assign_") else None
    target = form.cleaned_data[field] if field else None
    try:
        _, changed = services.number_bulk_apply(
            actor=dashboard_actor(request),
            account=account,
            action="assign" if field else action,
            ids=ids,
            assignments={field: target} if field else None,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    if field:
        label = ASSIGNMENTS[field].kind_label
        flash_count(
            request, changed, f"assigned to {label} {target.name}" if target else f"unassigned from their {label}"
        )
    else:
        flash_count(request, changed, f"{action}d")  # activated, deactivated, deleted
    return redirect(back)
