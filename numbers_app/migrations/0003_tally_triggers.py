"""Triggers that keep NumberTally exact: every insert, update and delete of a phone number
moves its count from one combination of (account, status, provider, voice agent, text
agent, trunk) to another, in the same transaction as the change.

PostgreSQL: statement-level triggers with transition tables, so a bulk statement (an import,
a bulk assign, COPY) touches each tally row once, locked in one fixed order so that
concurrent writers queue rather than deadlock. SQLite: row-level triggers (SQLite has one
writer at a time). Existing numbers are counted once when the triggers are created.
"""

from django.db import migrations

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


def create_triggers(apps, schema_editor):
    for statement in [*_statements(schema_editor.connection.vendor, forward=True), BACKFILL]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM numbers_app_numbertally", params=None)


class Migration(migrations.Migration):
    dependencies = [("numbers_app", "0002_number_tally")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
