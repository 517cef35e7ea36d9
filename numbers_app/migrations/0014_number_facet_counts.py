"""NumberFacetCount: each account's total and, for every filter value, how many of its numbers
match it (the marginal counts of NumberTally's combinations), kept by the same triggers in
the same transaction as the change.

The triggers of migration 0003 are dropped and created again (0003 stays as it was):
PostgreSQL: statement-level triggers with transition tables; each statement's changes are
grouped into deltas of combinations (as before) and of facet values, and applied locking the
combination rows first, then the facet rows, each in key order, so concurrent writers queue
rather than deadlock. SQLite: row-level triggers. The facet rows are counted once from the
combinations when the triggers are created (the migration holds the table's lock meanwhile).
"""

import importlib

from django.db import migrations, models

_0003 = importlib.import_module("numbers_app.migrations.0003_tally_triggers")

KEY = "account_id, status, provider, voice_agent_id, text_agent_id, trunk_id"
FACET_KEY = "account_id, facet, value"


def _routable(p: str) -> str:
    # PhoneNumber.routable's rule over the tally's columns (unassigned is 0).
    return (
        f"{p}status = 'active' AND ({p}voice_agent_id <> 0 OR {p}text_agent_id <> 0) "
        f"AND ({p}provider = 'twilio' OR {p}trunk_id <> 0)"
    )


def _id_value(column: str) -> str:
    # An id filter's value: the id, or `none` for unassigned.
    return f"CASE WHEN {column} = 0 THEN 'none' ELSE CAST({column} AS TEXT) END"


def _facet_values(p: str) -> list[tuple[str, str]]:
    """(facet, value) of a combination whose columns are prefixed with `p`."""
    return [
        ("'total'", "''"),
        ("'status'", f"{p}status"),
        ("'provider'", f"{p}provider"),
        ("'voice_agent_id'", _id_value(f"{p}voice_agent_id")),
        ("'text_agent_id'", _id_value(f"{p}text_agent_id")),
        ("'trunk_id'", _id_value(f"{p}trunk_id")),
        ("'routable'", f"CASE WHEN {_routable(p)} THEN 'true' ELSE 'false' END"),
    ]


_PG_FACETS = ", ".join(f"({facet}, CAST({value} AS TEXT))" for facet, value in _facet_values("d."))


POSTGRESQL_FORWARD = [
    "CREATE TYPE numbers_app_tally_delta AS (account_id bigint, status text, provider text, "
    "voice_agent_id bigint, text_agent_id bigint, trunk_id bigint, delta bigint)",
    "CREATE TYPE numbers_app_facet_delta AS (account_id bigint, facet text, value text, delta bigint)",
    f"""
    CREATE FUNCTION numbers_app_tally_apply(deltas numbers_app_tally_delta[]) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
        facet_deltas numbers_app_facet_delta[] := ARRAY(
            SELECT ROW(d.account_id, f.facet, f.value, SUM(d.delta))::numbers_app_facet_delta
            FROM unnest(deltas) d CROSS JOIN LATERAL (VALUES {_PG_FACETS}) AS f(facet, value)
            GROUP BY d.account_id, f.facet, f.value HAVING SUM(d.delta) <> 0);
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
        -- Then the facet counts, the same way: every writer locks combinations before facet
        -- values, each in key order. A change that moves no number in or out of a value (the
        -- total, on an update) leaves its row alone.
        PERFORM 1 FROM numbers_app_numberfacetcount t
            JOIN unnest(facet_deltas) d USING ({FACET_KEY})
            ORDER BY t.account_id, t.facet, t.value
            FOR UPDATE OF t;
        INSERT INTO numbers_app_numberfacetcount AS t ({FACET_KEY}, count)
            SELECT {FACET_KEY}, delta FROM unnest(facet_deltas) WHERE delta > 0 ORDER BY {FACET_KEY}
            ON CONFLICT ({FACET_KEY}) DO UPDATE SET count = t.count + EXCLUDED.count;
        UPDATE numbers_app_numberfacetcount t SET count = t.count + d.delta
            FROM unnest(facet_deltas) d
            WHERE d.delta < 0 AND (t.account_id, t.facet, t.value) = (d.account_id, d.facet, d.value);
    END $$
    """,
    # The three trigger functions are 0003's: they group a statement's rows into deltas.
    *_0003.POSTGRESQL_FORWARD[2:],
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
    "DROP TYPE IF EXISTS numbers_app_facet_delta",
]


def _sqlite_facets(row: str) -> str:
    """The (facet, value) pairs of the number NEW or OLD, as a subquery. `routable` is the
    number's own stored column."""
    pairs = [
        "SELECT 'total' AS facet, '' AS value",
        f"SELECT 'status', {row}.status",
        f"SELECT 'provider', {row}.provider",
        *(f"SELECT '{column}', COALESCE(CAST({row}.{column} AS TEXT), 'none')" for column in _ID_COLUMNS),
        f"SELECT 'routable', CASE WHEN {row}.routable THEN 'true' ELSE 'false' END",
    ]
    return " UNION ALL ".join(pairs)


_ID_COLUMNS = ("voice_agent_id", "text_agent_id", "trunk_id")

_SQLITE_ADD = (
    f"{_0003._SQLITE_ADD} "
    f"INSERT INTO numbers_app_numberfacetcount ({FACET_KEY}, count) "
    f"SELECT NEW.account_id, facet, value, 1 FROM ({_sqlite_facets('NEW')}) WHERE true "
    f"ON CONFLICT ({FACET_KEY}) DO UPDATE SET count = count + 1;"
)
_SQLITE_REMOVE = (
    f"{_0003._SQLITE_REMOVE} "
    "UPDATE numbers_app_numberfacetcount SET count = count - 1 "
    f"WHERE account_id = OLD.account_id AND (facet, value) IN ({_sqlite_facets('OLD')});"
)

SQLITE_FORWARD = [
    f"CREATE TRIGGER numbers_app_tally_insert AFTER INSERT ON numbers_app_phonenumber BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER numbers_app_tally_delete AFTER DELETE ON numbers_app_phonenumber BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER numbers_app_tally_update AFTER UPDATE OF {KEY} ON numbers_app_phonenumber "
    f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]

SQLITE_BACKWARD = _0003.SQLITE_BACKWARD

# Each account's facet counts from its combinations (what the triggers keep from then on).
FACET_BACKFILL = (
    f"INSERT INTO numbers_app_numberfacetcount ({FACET_KEY}, count) "
    "SELECT account_id, facet, value, SUM(count) FROM ("
    + " UNION ALL ".join(
        f"SELECT account_id, {facet} AS facet, CAST({value} AS TEXT) AS value, count FROM numbers_app_numbertally"
        for facet, value in _facet_values("")
    )
    + ") facets GROUP BY account_id, facet, value HAVING SUM(count) > 0"
)


def _statements(vendor: str, forward: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_FORWARD if forward else POSTGRESQL_BACKWARD
    if vendor == "sqlite":
        return SQLITE_FORWARD if forward else SQLITE_BACKWARD
    raise NotImplementedError(f"NumberTally triggers are written for PostgreSQL and SQLite, not {vendor}.")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No number changes between the count and the new triggers (DROP TRIGGER would take
        # this lock anyway; taken first, the backfill cannot run before it).
        schema_editor.execute("LOCK TABLE numbers_app_phonenumber IN SHARE ROW EXCLUSIVE MODE", params=None)
    for statement in [*_0003._statements(vendor, forward=False), *_statements(vendor, forward=True)]:
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM numbers_app_numberfacetcount", params=None)
    schema_editor.execute(FACET_BACKFILL, params=None)


def restore_0003_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*_statements(vendor, forward=False), *_0003._statements(vendor, forward=True)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_idempotency_lease"),
        ("numbers_app", "0013_bulk_jobs"),
    ]

    operations = [
        migrations.CreateModel(
            name="NumberFacetCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("facet", models.CharField(max_length=14)),
                ("value", models.CharField(blank=True, max_length=20)),
                ("count", models.BigIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
            ],
            options={
                "ordering": ["account", "facet", "value"],
                "constraints": [
                    models.UniqueConstraint(fields=("account", "facet", "value"), name="numberfacetcount_unique_value"),
                    models.CheckConstraint(
                        condition=models.Q(("count__gte", 0)), name="numberfacetcount_count_not_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "facet__in",
                                ["total", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id", "routable"],
                            )
                        ),
                        name="numberfacetcount_facet_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_triggers, restore_0003_triggers),
    ]
