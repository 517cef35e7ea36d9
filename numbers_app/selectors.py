"""Reads of numbers that span models, for the API and the dashboard."""

import csv
import io

from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import QueryDict, StreamingHttpResponse

from kalem_site.accounts.models import Account
from kalem_site.api.fields import id_in_range

from .api.filters import UNASSIGNED, NumberFilter
from .models import NumberTally, PhoneNumber
from .phone import normalize_number

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
    other filters in `params` (so a count is what clicking that choice shows); unassigned is
    the value None. One grouped query per filter, whatever the number of rows: over the
    tally when there is no search, over the numbers otherwise. Invalid values are ignored,
    as the list ignores them."""
    valid = NumberFilter(params, queryset=PhoneNumber.objects.none()).valid_values()
    counts = {}
    for param, column in FACET_COLUMNS.items():
        others = {name: value for name, value in valid.items() if name != param}
        tally = number_tally_for(account=account, filters=others)
        if tally is not None:
            grouped = tally.order_by().values(column).annotate(n=Sum("count"))
            counts[param] = {_unassigned_as_none(column, row[column]): row["n"] for row in grouped}
        else:
            query = params.copy()
            query.pop(param, None)
            numbers = NumberFilter(query, queryset=PhoneNumber.objects.for_account(account)).qs
            grouped = numbers.order_by().values(column).annotate(n=Count("id"))
            counts[param] = {row[column]: row["n"] for row in grouped}
    return counts


def _unassigned_as_none(column: str, value):
    # The tally stores "unassigned" as 0 (see NumberTally).
    return None if column.endswith("_id") and value == 0 else value


def number_tally_for(*, account: Account, filters: dict):
    """The tally rows of the account that match the list's filters (cleaned NumberFilter
    data), or None when a filter (a search) cannot be answered from the tally."""
    if filters.get("search"):
        return None
    tally = NumberTally.objects.filter(account=account, count__gt=0)
    for param, column in FACET_COLUMNS.items():
        value = filters.get(param)
        if value in (None, ""):
            continue
        tally = tally.filter(**{column: 0 if value == UNASSIGNED else value})
    return tally


def number_total(*, account: Account, filters: dict, numbers) -> int:
    """How many numbers the filtered list has: from the tally (a sum over a few rows) when it
    can answer, else COUNT(*) of `numbers`."""
    tally = number_tally_for(account=account, filters=filters)
    if tally is None:
        return numbers.count()
    return tally.aggregate(total=Sum("count"))["total"] or 0


def number_routing(number: PhoneNumber) -> tuple[bool, list[str]]:
    """Whether a call to or from the number can reach an agent, and if not, why: what a call
    router or an operator asks first when a call does not arrive. Manual numbers reach us
    through a SIP trunk; Twilio numbers are routed by Twilio."""
    reasons = []
    if number.status != PhoneNumber.Status.ACTIVE:
        reasons.append("The number is inactive.")
    if number.voice_agent_id is None and number.text_agent_id is None:
        reasons.append("No voice agent or text agent is assigned.")
    if number.provider == PhoneNumber.Provider.MANUAL and number.trunk_id is None:
        reasons.append("Manual numbers are routed through a SIP trunk, and none is assigned.")
    return not reasons, reasons


def number_bulk_targets(
    *, account: Account, numbers: list[str] | None = None, ids: list[int] | None = None
) -> list[dict]:
    """Resolve the items of a bulk request, in order, to numbers of the account: one result
    per item, `{"input", "id", "number", "result": "ok" | "not_found" | "error", "message"}`.
    One query, however many items."""
    items = []
    if numbers is not None:
        for value in numbers:
            try:
                items.append({"input": value, "number": normalize_number(value)})
            except ValidationError as error:
                items.append({"input": value, "number": None, "result": "error", "message": error.messages[0]})
        wanted = [item["number"] for item in items if item["number"]]
        found = dict(PhoneNumber.objects.for_account(account).filter(number__in=wanted).values_list("number", "id"))
        for item in items:
            item["id"] = found.get(item["number"])
    else:
        for value in ids:
            items.append({"input": value, "id": id_in_range(str(value))})
        wanted = [item["id"] for item in items if item["id"]]
        found = dict(PhoneNumber.objects.for_account(account).filter(pk__in=wanted).values_list("id", "number"))
        for item in items:
            item["number"] = found.get(item["id"])
            item["id"] = item["id"] if item["number"] else None
    for item in items:
        if "result" not in item:
            item["result"], item["message"] = (
                ("ok", None) if item["id"] else ("not_found", "No such number in this account.")
            )
    return [{key: item[key] for key in ("input", "id", "number", "result", "message")} for item in items]


# The CSV of numbers: the columns the import reads back (agents and trunks by name).
CSV_COLUMNS = ("number", "provider", "voice_agent", "text_agent", "trunk", "status")


def number_csv_rows(numbers):
    """The CSV lines (header first) of a queryset of numbers, read in chunks so that a
    million rows never sit in memory at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    columns = ("number", "provider", "voice_agent__name", "text_agent__name", "trunk__name", "status")
    for row in numbers.order_by("id").values_list(*columns).iterator(chunk_size=2000):
        yield line(["" if value is None else value for value in row])


def csv_response(numbers) -> StreamingHttpResponse:
    """The numbers as a streamed CSV download (the API's export and the dashboard's)."""
    response = StreamingHttpResponse(number_csv_rows(numbers), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="numbers.csv"'
    return response
