"""NumberTally and NumberFacetCount: how many numbers an account has for each combination of
the list's filters, and for each filter value alone (plus its total).

Everything about them is here but the database triggers that keep them, which migration 0014
creates: the reads that answer the list's totals and the sidebar's facet counts, and
`tally_rebuild()`, which recomputes both from the numbers (the `rebuildtally` command).

PostgreSQL: statement-level triggers with transition tables, so a bulk statement (an import,
a bulk assign, COPY) touches each tally row once, locked in one fixed order (combinations,
then facet values, each in key order) so that concurrent writers queue rather than deadlock.
SQLite: row-level triggers (SQLite has one writer at a time). Unassigned is 0 rather than
NULL in the combinations, so the unique key holds on every database; in the facet counts a
value is the filter's query-parameter value as text (`none` for unassigned).

The trigger SQL is in migrations 0003 and 0014 and stays as it is there: a change to the
triggers needs a new migration that drops and creates them again (and BACKFILL and
FACET_BACKFILL below must keep counting what they count; tests/numbers_app/
test_rebuildtally_command.py compares a rebuilt tally with the one the triggers kept).

Reading:
- the total of a list without a search: one facet row when it has at most one filter (the
  account's total, or that filter value's count), else a sum over the matching combinations;
- the sidebar's counts: one query. Without filters, the account's ~45 facet rows. With
  filters, one pass over the account's combinations grouped every way at once (GROUPING SETS
  on PostgreSQL, a UNION ALL of grouped selects on SQLite), each facet counted under all the
  other filters. With a search, the same pass over at most FACET_SEARCH_SAMPLE + 1 matching
  numbers instead: exact when that many or fewer match, otherwise lower bounds, which the
  dashboard labels "at least".
"""

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from kalem_site.accounts.models import Account
from kalem_site.db import CompiledQuery

from .filters import UNASSIGNED, NumberFilter
from .models import NumberFacetCount, NumberTally, PhoneNumber

# The sidebar's filters, each a facet: the list's filter parameter, also the tally column name
# (routable is computed from the others).
FACETS = ("status", "provider", "voice_agent_id", "text_agent_id", "trunk_id", "routable")
ID_FACETS = ("voice_agent_id", "text_agent_id", "trunk_id")

# With a search, the facets are counted over at most this many matching numbers: enough to be
# exact for any search an operator reads the counts of, bounded for `?search=1` on a million.
FACET_SEARCH_SAMPLE = 10_000

# Rebuilding

TALLY_KEY = ("account_id", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id")

# PhoneNumber.ROUTABLE over the tally's columns, where unassigned is 0: a combination's numbers
# are all routable or all not, so routable numbers are counted by summing combinations.
# tests/numbers_app/test_routable.py holds it equal to the stored column for every combination.
TALLY_ROUTABLE = (
    Q(status="active") & (~Q(voice_agent_id=0) | ~Q(text_agent_id=0)) & (Q(provider="twilio") | ~Q(trunk_id=0))
)
ROUTABLE_SQL = (
    "(status = 'active' AND (voice_agent_id <> 0 OR text_agent_id <> 0) AND (provider = 'twilio' OR trunk_id <> 0))"
)

# Every combination's count, from the numbers themselves: what the triggers keep.
BACKFILL = (
    f"INSERT INTO numbers_app_numbertally ({', '.join(TALLY_KEY)}, count) "
    "SELECT account_id, status, provider, COALESCE(voice_agent_id, 0), COALESCE(text_agent_id, 0), "
    "COALESCE(trunk_id, 0), COUNT(*) FROM numbers_app_phonenumber GROUP BY 1, 2, 3, 4, 5, 6"
)


def _id_text(column: str) -> str:
    return f"CASE WHEN {column} = 0 THEN '{UNASSIGNED}' ELSE CAST({column} AS TEXT) END"


# Each facet's value as its filter's query-parameter text, over tally-shaped columns.
FACET_VALUE_SQL = {
    "total": "''",
    "status": "CAST(status AS TEXT)",
    "provider": "CAST(provider AS TEXT)",
    **{facet: _id_text(facet) for facet in ID_FACETS},
    "routable": f"CASE WHEN {ROUTABLE_SQL} THEN 'true' ELSE 'false' END",
}

# Every account's facet counts, from its combinations: what the triggers keep.
FACET_BACKFILL = (
    "INSERT INTO numbers_app_numberfacetcount (account_id, facet, value, count) "
    "SELECT account_id, facet, value, SUM(count) FROM ("
    + " UNION ALL ".join(
        f"SELECT account_id, '{facet}' AS facet, {value} AS value, count FROM numbers_app_numbertally"
        for facet, value in FACET_VALUE_SQL.items()
    )
    + ") facets GROUP BY account_id, facet, value HAVING SUM(count) > 0"
)


def tally_counts() -> dict[tuple, int]:
    """The tally as it is: {(account_id, status, provider, voice, text, trunk): count} for the
    combinations, and {(account_id, facet, value): count} for the facet counts, those of no
    number left out."""
    rows = NumberTally.objects.filter(count__gt=0).values_list(*TALLY_KEY, "count")
    counts = {row[:6]: row[6] for row in rows}
    facets = NumberFacetCount.objects.filter(count__gt=0).values_list("account_id", "facet", "value", "count")
    counts.update({row[:3]: row[3] for row in facets})
    return counts


@transaction.atomic
def tally_rebuild() -> int:
    """Recompute the tally (combinations and facet counts) from the numbers, for every
    account; returns how many of its rows had a wrong count (0 when the triggers kept it
    exact).

    The numbers are locked against writes meanwhile (PostgreSQL: SHARE mode, which lets
    reads through; SQLite has one writer at a time anyway), so no write's trigger can change
    the tally between its deletion and its new rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PhoneNumber._meta.db_table} IN SHARE MODE")
    before = tally_counts()
    NumberTally.objects.all().delete()
    NumberFacetCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)
        cursor.execute(FACET_BACKFILL)
    after = tally_counts()
    return sum(before.get(key) != after.get(key) for key in before.keys() | after.keys())


# Reading


def _active_filters(filters: dict) -> dict:
    """The facet filters (cleaned NumberFilter data) that narrow the list."""
    return {facet: filters[facet] for facet in FACETS if filters.get(facet) not in (None, "")}


def narrows(filters: dict) -> bool:
    """Whether the list's filters (cleaned NumberFilter data) leave out any number: a search,
    or a facet filter with a value. The unfiltered list is read by a compiled query."""
    return bool(filters.get("search")) or bool(_active_filters(filters))


def _facet_value_text(value) -> str:
    # A cleaned filter value as NumberFacetCount.value holds it: `none`, an id, a choice.
    return str(value)


def _facet_value(facet: str, text: str):
    """NumberFacetCount.value back to the value the sidebar keys its counts by: None for
    unassigned, an int id, else the choice itself."""
    if facet in ID_FACETS:
        return None if text == UNASSIGNED else int(text)
    return text


def number_tally_for(*, account: Account | None, filters: dict):
    """The tally rows of the account (of every account when None: the admin's list) that
    match the list's filters (cleaned NumberFilter data), or None when a filter (a search)
    cannot be answered from the tally."""
    if filters.get("search"):
        return None
    tally = NumberTally.objects.filter(count__gt=0)
    if account is not None:
        tally = tally.filter(account=account)
    for facet, value in _active_filters(filters).items():
        if facet == "routable":
            tally = tally.filter(TALLY_ROUTABLE if value == "true" else ~TALLY_ROUTABLE)
        else:
            tally = tally.filter(**{facet: 0 if value == UNASSIGNED else value})
    return tally


# One facet row of an account (the total, or one filter's value): compiled once, as it is read
# by every list request of the API without a search.
_FACET_COUNT = CompiledQuery(
    lambda account_id, facet, value: NumberFacetCount.objects.filter(account_id=account_id, facet=facet, value=value)
    .order_by()
    .values("count"),
    account_id=int,
    facet=str,
    value=str,
)


def number_total(*, account: Account | None, filters: dict, numbers) -> int:
    """How many numbers the filtered list has. Without a search, from the tally: one facet
    row for no filter or one, else a sum over the matching combinations. With a search,
    COUNT(*) of `numbers`."""
    if filters.get("search"):
        return numbers.count()
    active = _active_filters(filters)
    if len(active) <= 1:
        facet, value = next(iter(active.items()), ("total", ""))
        value = _facet_value_text(value)
        if account is None:  # every account's (the admin's list): a row per account
            rows = NumberFacetCount.objects.filter(facet=facet, value=value)
            return rows.aggregate(total=Sum("count"))["total"] or 0
        _, rows = _FACET_COUNT.rows(account_id=account.id, facet=facet, value=value)
        return rows[0][0] if rows else 0
    return number_tally_for(account=account, filters=filters).aggregate(total=Sum("count"))["total"] or 0


class FacetCounts(dict):
    """{facet: {value: count}} for the sidebar (unassigned is the value None), plus whether
    the counts are exact: with a search matching more than `sample` numbers they were counted
    among `sample` of them, so each is a lower bound."""

    def __init__(self, counts: dict, *, exact: bool = True, sample: int | None = None):
        super().__init__(counts)
        self.exact = exact
        self.sample = sample


def number_facet_counts(
    *, account: Account, params: dict[str, str] | None = None, valid: dict | None = None
) -> FacetCounts:
    """For each filter, how many numbers each of its values would match, given all the
    other filters in `params` (so a count is what clicking that choice shows). One query,
    whatever the filters (see the module's docstring). Invalid values are ignored, as the
    list ignores them. A caller that has cleaned the filters already passes their
    `valid` values (NumberFilter.valid_values()) instead of `params`."""
    if valid is None:
        valid = NumberFilter(params or {}, queryset=PhoneNumber.objects.none()).valid_values()
    active = _active_filters(valid)
    search = valid.get("search")
    if search:
        sql, sql_params = _searched_facets_sql(account, search, active)
    elif not active:
        sql, sql_params = (
            "SELECT facet, value, count, NULL FROM numbers_app_numberfacetcount WHERE account_id = %s",
            [account.pk],
        )
    else:
        sql, sql_params = _tally_facets_sql(account, active)
    counts = {facet: {} for facet in FACETS}
    sampled = None
    with connection.cursor() as cursor:
        cursor.execute(sql, sql_params)
        for facet, value, count, rows in cursor.fetchall():
            if facet == "total":
                sampled = rows
            elif count:
                counts[facet][_facet_value(facet, value)] = int(count)
    if not search:
        return FacetCounts(counts)
    exact = (sampled or 0) <= FACET_SEARCH_SAMPLE
    return FacetCounts(counts, exact=exact, sample=None if exact else FACET_SEARCH_SAMPLE)


def _condition(facet: str, value) -> tuple[str, list]:
    """A filter as SQL over tally-shaped columns (unassigned 0, `routable` a column)."""
    if facet == "routable":
        return ("routable" if value == "true" else "NOT routable"), []
    return f"{facet} = %s", [0 if value == UNASSIGNED else value]


def _all_of(conditions: list[tuple[str, list]]) -> tuple[str, list]:
    if not conditions:
        return "1 = 1", []
    return " AND ".join(f"({sql})" for sql, _ in conditions), [p for _, params in conditions for p in params]


def _counted(sql: str, params: list) -> tuple[str, list]:
    # A facet's count under its conditions: CASE rather than an aggregate FILTER clause, so
    # the same SQL runs on both databases.
    return f"SUM(CASE WHEN {sql} THEN n ELSE 0 END)", params


def _facet_aggregates(active: dict, grouped: list[str]) -> dict[str, tuple[str, list]]:
    """For each grouped facet and the total: the SQL counting its rows under every active
    filter but its own."""
    conditions = {facet: _condition(facet, value) for facet, value in active.items()}
    return {
        facet: _counted(*_all_of([c for other, c in conditions.items() if other != facet]))
        for facet in [*grouped, "total"]
    }


def _relaxed(active: dict) -> tuple[str, list]:
    """Rows that match all active filters but at most one: every facet's count is among
    them. Over tally-shaped columns."""
    conditions = [_condition(facet, value) for facet, value in active.items()]
    if len(conditions) <= 1:
        return "1 = 1", []
    matched = " + ".join(f"(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql, _ in conditions)
    return f"{matched} >= %s", [p for _, params in conditions for p in params] + [len(conditions) - 1]


def _grouped_facets_sql(source: str, source_params: list, active: dict, grouped: list[str]) -> tuple[str, list]:
    """(facet, value, count, rows) for each value of each grouped facet and for the total,
    over `source`, a subquery of tally-shaped rows (status, provider, voice_agent_id,
    text_agent_id, trunk_id, routable, n). `rows` is how many source rows each group has."""
    aggregates = _facet_aggregates(active, grouped)
    if connection.vendor == "postgresql":
        # One pass, grouped every way at once. GROUPING() tells which set a row is of: a bit
        # per column, set when the row is not grouped by it.
        columns = grouped
        bits = {facet: (1 << len(columns)) - 1 - (1 << (len(columns) - 1 - columns.index(facet))) for facet in grouped}
        which = f"GROUPING({', '.join(columns)})"
        facet_case = " ".join(f"WHEN {bits[f]} THEN '{f}'" for f in grouped)
        value_case = " ".join(f"WHEN {bits[f]} THEN {_grouped_value_sql(f)}" for f in grouped)
        count_case, count_params = [], []
        for facet in grouped:
            sql, params = aggregates[facet]
            count_case.append(f"WHEN {bits[facet]} THEN {sql}")
            count_params += params
        total_sql, total_params = aggregates["total"]
        sets = ", ".join([*(f"({facet})" for facet in grouped), "()"])
        sql = (
            f"SELECT CASE {which} {facet_case} ELSE 'total' END, CASE {which} {value_case} ELSE '' END, "
            f"CASE {which} {' '.join(count_case)} ELSE {total_sql} END, COUNT(*) "
            f"FROM ({source}) t GROUP BY GROUPING SETS ({sets})"
        )
        return sql, [*count_params, *total_params, *source_params]
    # SQLite has no GROUPING SETS: one grouped select per facet over the same rows.
    branches, params = [], list(source_params)
    for facet in grouped:
        count_sql, count_params = aggregates[facet]
        branches.append(f"SELECT '{facet}', {_grouped_value_sql(facet)}, {count_sql}, COUNT(*) FROM t GROUP BY {facet}")
        params += count_params
    total_sql, total_params = aggregates["total"]
    branches.append(f"SELECT 'total', '', {total_sql}, COUNT(*) FROM t")
    params += total_params
    return f"WITH t AS MATERIALIZED ({source}) " + " UNION ALL ".join(branches), params


def _grouped_value_sql(facet: str) -> str:
    if facet == "routable":
        return "CASE WHEN routable THEN 'true' ELSE 'false' END"
    return FACET_VALUE_SQL[facet]


def _tally_facets_sql(account: Account, active: dict) -> tuple[str, list]:
    """Facet counts of a list with filters and no search, from the combinations; a single
    filter's own counts are its facet rows."""
    relaxed, relaxed_params = _relaxed(active)
    if len(active) == 1:
        (own,) = active
        # Its own counts under no other filter: its facet rows, no combination needed.
        grouped = [facet for facet in FACETS if facet != own]
        relaxed, relaxed_params = _all_of([_condition(own, active[own])])
    else:
        own, grouped = None, list(FACETS)
    source = (
        "SELECT * FROM (SELECT status, provider, voice_agent_id, text_agent_id, trunk_id, "
        f"{ROUTABLE_SQL} AS routable, count AS n FROM numbers_app_numbertally "
        f"WHERE account_id = %s AND count > 0) combinations WHERE {relaxed}"
    )
    sql, params = _grouped_facets_sql(source, [account.pk, *relaxed_params], active, grouped)
    if own is not None:
        sql = f"{sql} UNION ALL SELECT facet, value, count, NULL FROM numbers_app_numberfacetcount "
        sql += "WHERE account_id = %s AND facet = %s"
        params += [account.pk, own]
    return sql, params


def _searched_facets_sql(account: Account, search: str, active: dict) -> tuple[str, list]:
    """Facet counts of a searched list, over at most FACET_SEARCH_SAMPLE + 1 of the numbers
    that match the search and all filters but at most one (whichever the database finds
    first, through the digits' trigram index on PostgreSQL when it helps)."""
    numbers = NumberFilter.base_filters["search"].filter(PhoneNumber.objects.for_account(account), search)
    conditions = [_number_condition(facet, value) for facet, value in active.items()]
    if len(conditions) > 1:
        # All but at most one: the OR of each filter left out.
        relaxed = Q()
        for left_out in range(len(conditions)):
            kept = Q()
            for index, condition in enumerate(conditions):
                if index != left_out:
                    kept &= condition
            relaxed |= kept
        numbers = numbers.filter(relaxed)
    rows = numbers.order_by().values("status", "provider", "routable")
    # Unassigned as 0, as in the tally, so the same SQL counts both.
    rows = rows.annotate(**{f"tally_{facet}": Coalesce(facet, 0) for facet in ID_FACETS})
    source, source_params = rows[: FACET_SEARCH_SAMPLE + 1].query.sql_with_params()
    source = (
        "SELECT status, provider, tally_voice_agent_id AS voice_agent_id, tally_text_agent_id AS text_agent_id, "
        f"tally_trunk_id AS trunk_id, routable, 1 AS n FROM ({source}) matches"
    )
    return _grouped_facets_sql(source, list(source_params), active, list(FACETS))


def _number_condition(facet: str, value) -> Q:
    if facet == "routable":
        return Q(routable=value == "true")
    if facet in ID_FACETS:
        return Q(**{f"{facet}__isnull": True}) if value == UNASSIGNED else Q(**{facet: value})
    return Q(**{facet: value})
