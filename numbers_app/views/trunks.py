"""Dashboard pages for SIP trunks."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse

from kalem_site.web import (
    account_required,
    apply_service_errors,
    confirm_delete,
    dashboard_actor,
    get_for_account_or_404,
)

from .. import services
from ..filters import TrunkFilter
from ..forms import TrunkForm
from ..models import SipTrunk
from .listing import requested_per_page


@account_required
def trunk_list(request):
    filterset = TrunkFilter(
        request.GET,
        queryset=SipTrunk.objects.for_account(request.user.account_id).with_numbers_count().order_by("name", "id"),
    )
    page = Paginator(filterset.qs, requested_per_page(request)).get_page(request.GET.get("page"))
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
    count = trunk.numbers_count
    return confirm_delete(
        request,
        title=f"Delete {trunk.name}",
        question=f"Delete SIP trunk {trunk.name}?",
        consequence=f"{count} number{pluralize(count)} will be unassigned from it. The numbers stay.",
        cancel_url=reverse("trunks:list"),
    )
