"""The Activity page: every change to the account's numbers."""

from django.core.exceptions import ValidationError
from django.shortcuts import render

from kalem_site.paging import CountedPaginator
from kalem_site.web import account_required

from ..filters import EventFilter
from ..models import NumberEvent, PhoneNumber
from ..phone import parse_pasted_number
from .listing import requested_per_page


@account_required
def activity(request):
    """Every change to the account's numbers, newest first, with the API's filters (invalid
    ones shown and ignored)."""
    account_id = request.user.account_id
    query = request.GET.copy()
    if query.get("number"):
        # As typed or pasted, a national number read in the account's default country; what
        # is not a number is left to the filter, which says why.
        try:
            query["number"] = parse_pasted_number(query["number"], request.user.account.default_country)
        except ValidationError:
            pass
    filterset = EventFilter(query, queryset=NumberEvent.objects.filter(account_id=account_id).newest_first())
    filterset.is_valid()  # the page lists the errors; `qs` applies only the valid filters
    # Deep pages from the nearer end, as the numbers list's.
    page = CountedPaginator(filterset.qs, requested_per_page(request)).get_page(request.GET.get("page"))
    # Which of the page's numbers still exist, to link only to those.
    number_ids = {event.number_id for event in page}
    existing = set(PhoneNumber.objects.filter(account_id=account_id, pk__in=number_ids).values_list("pk", flat=True))
    return render(
        request,
        "numbers_app/activity.html",
        {"page": page, "filterset": filterset, "existing_numbers": existing},
    )
