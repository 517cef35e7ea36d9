"""Reads of numbers that span models, for the dashboard."""

from django.db.models import Count
from django.http import QueryDict

from kalem_site.accounts.models import Account

from .api.filters import NumberFilter
from .models import PhoneNumber

# Filter parameter → the column it filters on.
FACET_COLUMNS = {
    "status": "status",
    "provider": "provider",
    "voice_agent_id": "voice_agent_id",
    "text_agent_id": "text_agent_id",
    "trunk_id": "trunk_id",
}


def number_facet_counts(*, account: Account, params: QueryDict) -> dict[str, dict]:
    """For each filter, how many numbers each of its values would match, given all the
    other filters in `params` (so a count is what clicking that choice shows). One grouped
    query per filter, whatever the number of rows."""
    numbers = PhoneNumber.objects.for_account(account)
    counts = {}
    for param, column in FACET_COLUMNS.items():
        others = params.copy()
        others.pop(param, None)
        others.pop("page", None)
        grouped = NumberFilter(others, queryset=numbers).qs.order_by().values(column).annotate(n=Count("id"))
        counts[param] = {row[column]: row["n"] for row in grouped}
    return counts
