"""NumberTally: how many numbers an account has for each combination of the list's filters.

Everything about it is here but the database triggers that keep it, which migration 0003
creates: the reads that answer the list's totals and the sidebar's facet counts from it,
and `tally_rebuild()`, which recomputes it from the numbers (the `rebuildtally` command).

PostgreSQL: statement-level triggers with transition tables, so a bulk statement (an import,
a bulk assign, COPY) touches each tally row once, locked in one fixed order so that
concurrent writers queue rather than deadlock. SQLite: row-level triggers (SQLite has one
writer at a time). Unassigned is 0 rather than NULL, so the unique key holds on every database.

The trigger SQL is in migration 0003 and stays as it is there: a change to the triggers
needs a new migration that drops and creates them again (and BACKFILL below must keep
counting what they count).
"""

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum

from kalem_site.accounts.models import Account

from .filters import UNASSIGNED, NumberFilter
from .models import NumberTally, PhoneNumber

# Rebuilding

TALLY_KEY = ("account_id", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id")

# Every combination's count, from the numbers themselves: what migration 0003's triggers keep.
BACKFILL = (
    f"INSERT INTO numbers_app_numbertally ({', '.join(TALLY_KEY)}, count) "
    "SELECT account_id, status, provider, COALESCE(voice_agent_id, 0), COALESCE(text_agent_id, 0), "
    "COALESCE(trunk_id, 0), COUNT(*) FROM numbers_app_phonenumber GROUP BY 1, 2, 3, 4, 5, 6"
)


def tally_counts() -> dict[tuple, int]:
    """The tally as it is: {(account_id, status, provider, voice, text, trunk): count}, the
    combinations of no number left out."""
    rows = NumberTally.objects.filter(count__gt=0).values_list(*TALLY_KEY, "count")
    return {row[:6]: row[6] for row in rows}


@transaction.atomic
def tally_rebuild() -> int:
    """Recompute the tally from the numbers, for every account; returns how many
    combinations had a wrong count (0 when the triggers kept it exact).

    The numbers are locked against writes meanwhile (PostgreSQL: SHARE mode, which lets
    reads through; SQLite has one writer at a time anyway), so no write's trigger can change
    the tally between its deletion and its new rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PhoneNumber._meta.db_table} IN SHARE MODE")
    before = tally_counts()
    NumberTally.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)
    after = tally_counts()
    return sum(before.get(key) != after.get(key) for key in before.keys() | after.keys())


# Reading

# Filter parameter → the column it filters on.
FACET_COLUMNS = {
    "status": "status",
    "provider": "provider",
    "voice_agent_id": "voice_agent_id",
    "text_agent_id": "text_agent_id",
    "trunk_id": "trunk_id",
}


# PhoneNumber.ROUTABLE over the tally's columns, where unassigned is 0: a combination's numbers
# are all routable or all not, so the routable count is a sum over combinations.
TALLY_ROUTABLE = (
    Q(status="active") & (~Q(voice_agent_id=0) | ~Q(text_agent_id=0)) & (Q(provider="twilio") | ~Q(trunk_id=0))
)


def number_facet_counts(*, account: Account, params: dict[str, str]) -> dict[str, dict]:
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
            query = {name: value for name, value in params.items() if name != param}
            numbers = NumberFilter(query, queryset=PhoneNumber.objects.for_account(account)).qs
            grouped = numbers.order_by().values(column).annotate(n=Count("id"))
            counts[param] = {row[column]: row["n"] for row in grouped}
    counts["routable"] = _routable_counts(account=account, params=params, valid=valid)
    return counts


def _routable_counts(*, account: Account, params: dict, valid: dict) -> dict[str, int]:
    """{"true": routable, "false": not routable} given the other filters."""
    others = {name: value for name, value in valid.items() if name != "routable"}
    tally = number_tally_for(account=account, filters=others)
    if tally is not None:
        grouped = tally.order_by().values(flag=ExpressionWrapper(TALLY_ROUTABLE, output_field=BooleanField()))
        grouped = grouped.annotate(n=Sum("count")).values_list("flag", "n")
    else:
        query = {name: value for name, value in params.items() if name != "routable"}
        numbers = NumberFilter(query, queryset=PhoneNumber.objects.for_account(account)).qs
        grouped = numbers.order_by().values("routable").annotate(n=Count("id")).values_list("routable", "n")
    return {"true" if flag else "false": n for flag, n in grouped}


def _unassigned_as_none(column: str, value):
    # The tally stores "unassigned" as 0.
    return None if column.endswith("_id") and value == 0 else value


def number_tally_for(*, account: Account | None, filters: dict):
    """The tally rows of the account (of every account when None: the admin's list) that
    match the list's filters (cleaned NumberFilter data), or None when a filter (a search)
    cannot be answered from the tally."""
    if filters.get("search"):
        return None
    tally = NumberTally.objects.filter(count__gt=0)
    if account is not None:
        tally = tally.filter(account=account)
    for param, column in FACET_COLUMNS.items():
        value = filters.get(param)
        if value in (None, ""):
            continue
        tally = tally.filter(**{column: 0 if value == UNASSIGNED else value})
    if filters.get("routable"):
        tally = tally.filter(TALLY_ROUTABLE if filters["routable"] == "true" else ~TALLY_ROUTABLE)
    return tally


def number_total(*, account: Account | None, filters: dict, numbers) -> int:
    """How many numbers the filtered list has: from the tally (a sum over a few rows) when it
    can answer, else COUNT(*) of `numbers`."""
    tally = number_tally_for(account=account, filters=filters)
    if tally is None:
        return numbers.count()
    return tally.aggregate(total=Sum("count"))["total"] or 0
