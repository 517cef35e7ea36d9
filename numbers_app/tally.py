"""NumberTally: how many numbers an account has for each combination of the list's filters.

Everything about it is here: the database triggers that keep it (created by migration
0003, which runs `create_triggers`), the reads that answer the list's totals and the
sidebar's facet counts from it, and `tally_rebuild()`, which recomputes it from the numbers
(the `rebuildtally` command).

PostgreSQL: statement-level triggers with transition tables, so a bulk statement (an import,
a bulk assign, COPY) touches each tally row once, locked in one fixed order so that
concurrent writers queue rather than deadlock. SQLite: row-level triggers (SQLite has one
writer at a time). Unassigned is 0 rather than NULL, so the unique key holds on every database.

Migration 0003 runs the trigger SQL below: a change to it only reaches existing databases
through a new migration that drops and creates the triggers again.
"""

from django.db import connection, transaction
from django.db.models import Count, Sum

from kalem_site.accounts.models import Account

from .filters import UNASSIGNED, NumberFilter
from .models import NumberTally, PhoneNumber

# Triggers

KEY = "account_id, status, provider, voice_agent_id, text_agent_id, trunk_id"


POSTGRESQL_FORWARD = [
    "CREATE TYPE numbers_app_tally_delta AS (account_id bigint, status text, provider text, "
    "voice_agent_id bigint, text_agent_id bigint, trunk_id bigint, delta bigint)",
    f"""
    CREATE FUNCTION numbers_app_tally_apply(deltas numbers_app_tally_delta[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Lock the existing rows this statement changes, in key order: writers queue, never deadlock.
        PERFORM 1 FROM numbers_app_numbertally t
            JOIN unnest(deltas) d USING ({KEY})
            ORDER BY t.account_id, t.status, t.provider, t.voice_agent_id, t.text_agent_id, t.trunk_id
            FOR UPDATE OF t;
        INSERT INTO numbers_app_numbertally AS t ({KEY}, count)
            SELECT {KEY}, SUM(delta) FROM unnest(deltas) GROUP BY {KEY} HAVING SUM(delta) > 0 ORDER BY {KEY}
            ON CONFLICT ({KEY}) DO UPDATE SET count = t.count + EXCLUDED.count;
        -- Decrements only meet existing rows (none when the account itself is being deleted).
        UPDATE numbers_app_numbertally t SET count = t.count + d.delta
            FROM (SELECT {KEY}, SUM(delta) AS delta FROM unnest(deltas) GROUP BY {KEY} HAVING SUM(delta) < 0) d
            WHERE (t.account_id, t.status, t.provider, t.voice_agent_id, t.text_agent_id, t.trunk_id)
                = (d.account_id, d.status, d.provider, d.voice_agent_id, d.text_agent_id, d.trunk_id);
    END $$
    """,
    f"""
    CREATE FUNCTION numbers_app_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM numbers_app_tally_apply(ARRAY(
            SELECT ROW({KEY}, n)::numbers_app_tally_delta FROM (
                SELECT account_id, status, provider, COALESCE(voice_agent_id, 0) AS voice_agent_id,
                       COALESCE(text_agent_id, 0) AS text_agent_id, COALESCE(trunk_id, 0) AS trunk_id, COUNT(*) AS n
                FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6) grouped));
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION numbers_app_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM numbers_app_tally_apply(ARRAY(
            SELECT ROW({KEY}, -n)::numbers_app_tally_delta FROM (
                SELECT account_id, status, provider, COALESCE(voice_agent_id, 0) AS voice_agent_id,
                       COALESCE(text_agent_id, 0) AS text_agent_id, COALESCE(trunk_id, 0) AS trunk_id, COUNT(*) AS n
                FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6) grouped));
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION numbers_app_tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM numbers_app_tally_apply(ARRAY(
            SELECT ROW({KEY}, n)::numbers_app_tally_delta FROM (
                SELECT account_id, status, provider, voice_agent_id, text_agent_id, trunk_id, SUM(n) AS n FROM (
                    SELECT account_id, status, provider, COALESCE(voice_agent_id, 0) AS voice_agent_id,
                           COALESCE(text_agent_id, 0) AS text_agent_id, COALESCE(trunk_id, 0) AS trunk_id, 1 AS n
                    FROM new_rows
                    UNION ALL
                    SELECT account_id, status, provider, COALESCE(voice_agent_id, 0),
                           COALESCE(text_agent_id, 0), COALESCE(trunk_id, 0), -1
                    FROM old_rows) changes
                GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(n) <> 0) grouped));
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER numbers_app_tally_insert AFTER INSERT ON numbers_app_phonenumber "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION numbers_app_tally_inserted()",
    "CREATE TRIGGER numbers_app_tally_delete AFTER DELETE ON numbers_app_phonenumber "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION numbers_app_tally_deleted()",
    "CREATE TRIGGER numbers_app_tally_update AFTER UPDATE ON numbers_app_phonenumber "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION numbers_app_tally_updated()",
]

POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS numbers_app_tally_insert ON numbers_app_phonenumber",
    "DROP TRIGGER IF EXISTS numbers_app_tally_delete ON numbers_app_phonenumber",
    "DROP TRIGGER IF EXISTS numbers_app_tally_update ON numbers_app_phonenumber",
    "DROP FUNCTION IF EXISTS numbers_app_tally_inserted()",
    "DROP FUNCTION IF EXISTS numbers_app_tally_deleted()",
    "DROP FUNCTION IF EXISTS numbers_app_tally_updated()",
    "DROP FUNCTION IF EXISTS numbers_app_tally_apply(numbers_app_tally_delta[])",
    "DROP TYPE IF EXISTS numbers_app_tally_delta",
]

_SQLITE_NEW = "NEW.account_id, NEW.status, NEW.provider, COALESCE(NEW.voice_agent_id, 0), COALESCE(NEW.text_agent_id, 0), COALESCE(NEW.trunk_id, 0)"
_SQLITE_OLD_MATCH = (
    "account_id = OLD.account_id AND status = OLD.status AND provider = OLD.provider "
    "AND voice_agent_id = COALESCE(OLD.voice_agent_id, 0) AND text_agent_id = COALESCE(OLD.text_agent_id, 0) "
    "AND trunk_id = COALESCE(OLD.trunk_id, 0)"
)
_SQLITE_ADD = (
    f"INSERT INTO numbers_app_numbertally ({KEY}, count) VALUES ({_SQLITE_NEW}, 1) "
    f"ON CONFLICT ({KEY}) DO UPDATE SET count = count + 1;"
)
_SQLITE_REMOVE = f"UPDATE numbers_app_numbertally SET count = count - 1 WHERE {_SQLITE_OLD_MATCH};"

SQLITE_FORWARD = [
    f"CREATE TRIGGER numbers_app_tally_insert AFTER INSERT ON numbers_app_phonenumber BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER numbers_app_tally_delete AFTER DELETE ON numbers_app_phonenumber BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER numbers_app_tally_update AFTER UPDATE OF {KEY} ON numbers_app_phonenumber "
    f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS numbers_app_tally_insert",
    "DROP TRIGGER IF EXISTS numbers_app_tally_delete",
    "DROP TRIGGER IF EXISTS numbers_app_tally_update",
]

# Every combination's count, from the numbers themselves.
BACKFILL = (
    f"INSERT INTO numbers_app_numbertally ({KEY}, count) "
    "SELECT account_id, status, provider, COALESCE(voice_agent_id, 0), COALESCE(text_agent_id, 0), "
    "COALESCE(trunk_id, 0), COUNT(*) FROM numbers_app_phonenumber GROUP BY 1, 2, 3, 4, 5, 6"
)


def _statements(vendor: str, forward: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_FORWARD if forward else POSTGRESQL_BACKWARD
    if vendor == "sqlite":
        return SQLITE_FORWARD if forward else SQLITE_BACKWARD
    raise NotImplementedError(f"NumberTally triggers are written for PostgreSQL and SQLite, not {vendor}.")


def create_triggers(apps, schema_editor) -> None:
    """Migration 0003, forwards: the triggers, then the existing numbers counted once."""
    for statement in [*_statements(schema_editor.connection.vendor, forward=True), BACKFILL]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor) -> None:
    for statement in _statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM numbers_app_numbertally", params=None)


# Rebuilding

TALLY_KEY = ("account_id", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id")


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
    return counts


def _unassigned_as_none(column: str, value):
    # The tally stores "unassigned" as 0.
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
