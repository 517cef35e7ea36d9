"""Reads of numbers that span models, for the API and the dashboard: plain values in, rows
out (the faces build the responses). The list's totals and facet counts are in tally.py."""

import csv
import io
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db.models import CharField, Value

from kalem_site.accounts.models import Account
from kalem_site.db import CompiledQuery
from kalem_site.ids import id_in_range

from .models import ASSIGNMENTS, PhoneNumber
from .phone import normalize_number

# The lookup's reasons (docs/API.md §9), also the overview's (numbers_app.health).
INACTIVE_REASON = "The number is inactive."
NO_AGENT_REASON = "No voice agent or text agent is assigned."
NO_TRUNK_REASON = "Manual numbers are routed through a SIP trunk, and none is assigned."


def number_routing(number: PhoneNumber) -> tuple[bool, list[str]]:
    """Whether a call to or from the number can reach an agent, and if not, why: what a call
    router or an operator asks first when a call does not arrive. Manual numbers reach us
    through a SIP trunk; Twilio numbers are routed by Twilio."""
    reasons = []
    if number.status != PhoneNumber.Status.ACTIVE:
        reasons.append(INACTIVE_REASON)
    if number.voice_agent_id is None and number.text_agent_id is None:
        reasons.append(NO_AGENT_REASON)
    if number.provider == PhoneNumber.Provider.MANUAL and number.trunk_id is None:
        reasons.append(NO_TRUNK_REASON)
    return not reasons, reasons


def _assignees_union(account_id: int):
    parts = [
        model.objects.filter(account_id=account_id)
        .annotate(kind=Value(name, output_field=CharField()))
        .values_list("kind", "id", "name")
        .order_by()  # the union is ordered as a whole (SQLite allows no ORDER BY in its parts)
        for name, model in ASSIGNMENTS.items()
    ]
    return parts[0].union(*parts[1:], all=True).order_by("name", "id")


# Compiled once: building and compiling the union cost more than running it (2 ms a page).
_ASSIGNEES = CompiledQuery(_assignees_union, account_id=int)


def account_assignees(account: Account) -> dict[str, list]:
    """The account's voice agents, text agents and trunks, by ASSIGNMENTS' names, each by
    name: one UNION ALL query instead of one per model (the numbers list shows them all in its
    sidebar and its bulk form). The objects carry their id and name only."""
    loaded = {name: [] for name in ASSIGNMENTS}
    _, rows = _ASSIGNEES.rows(account_id=account.id)
    for kind, pk, name in rows:
        loaded[kind].append(ASSIGNMENTS[kind](id=pk, name=name, account_id=account.id))
    return loaded


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
CSV_COLUMNS = ("number", "provider", *ASSIGNMENTS, "status")


def number_csv_rows(numbers) -> Iterator[str]:
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
    columns = ("number", "provider", *(f"{field}__name" for field in ASSIGNMENTS), "status")
    for row in numbers.order_by("id").values_list(*columns).iterator(chunk_size=2000):
        yield line(["" if value is None else value for value in row])
