"""NumberEventDay, the events per account and day (UTC) that the overview's chart of changes
reads, and the triggers that keep it exact: every insert and delete of a NumberEvent counts
on its day, in the same transaction. Existing events are counted once here.

PostgreSQL: statement-level triggers with transition tables, so an import's COPY of 100,000
events upserts one row per day, in key order, each connection in its own shard (see the
model). SQLite: row-level triggers (one writer at a time), one shard. The SQL stays as it is
here: a change needs a new migration that drops and creates the triggers again.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_DAY = "(occurred_at AT TIME ZONE 'UTC')::date"
# Each connection counts in its own shard: concurrent writers of one account and day do not
# wait for each other's commit on one row.
POSTGRESQL_SHARD = "pg_backend_pid() % 16"

POSTGRESQL_FORWARD = [
    f"""
    CREATE FUNCTION numbers_app_eventday_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO numbers_app_numbereventday AS d (account_id, day, shard, count)
            SELECT account_id, {POSTGRESQL_DAY}, {POSTGRESQL_SHARD}, COUNT(*) FROM new_rows
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (account_id, day, shard) DO UPDATE SET count = d.count + EXCLUDED.count;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION numbers_app_eventday_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- From the day's first shard, which may go below zero: the day's sum stays exact. Only
        -- existing rows are met (none when the account itself is being deleted).
        UPDATE numbers_app_numbereventday d SET count = d.count - gone.n
            FROM (SELECT account_id, {POSTGRESQL_DAY} AS day, COUNT(*) AS n FROM old_rows GROUP BY 1, 2) gone
            WHERE d.id = (SELECT first.id FROM numbers_app_numbereventday first
                          WHERE first.account_id = gone.account_id AND first.day = gone.day
                          ORDER BY first.shard LIMIT 1);
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER numbers_app_eventday_insert AFTER INSERT ON numbers_app_numberevent "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION numbers_app_eventday_inserted()",
    "CREATE TRIGGER numbers_app_eventday_delete AFTER DELETE ON numbers_app_numberevent "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION numbers_app_eventday_deleted()",
]

POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS numbers_app_eventday_insert ON numbers_app_numberevent",
    "DROP TRIGGER IF EXISTS numbers_app_eventday_delete ON numbers_app_numberevent",
    "DROP FUNCTION IF EXISTS numbers_app_eventday_inserted()",
    "DROP FUNCTION IF EXISTS numbers_app_eventday_deleted()",
]

# Django keeps SQLite datetimes as UTC text ("2026-12-01 10:30:00.123456"); date() takes its
# day. One writer at a time: one shard, 0.
SQLITE_FORWARD = [
    "CREATE TRIGGER numbers_app_eventday_insert AFTER INSERT ON numbers_app_numberevent BEGIN "
    "INSERT INTO numbers_app_numbereventday (account_id, day, shard, count) "
    "VALUES (NEW.account_id, date(NEW.occurred_at), 0, 1) "
    "ON CONFLICT (account_id, day, shard) DO UPDATE SET count = count + 1; END",
    "CREATE TRIGGER numbers_app_eventday_delete AFTER DELETE ON numbers_app_numberevent BEGIN "
    "UPDATE numbers_app_numbereventday SET count = count - 1 "
    "WHERE account_id = OLD.account_id AND day = date(OLD.occurred_at) AND shard = 0; END",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS numbers_app_eventday_insert",
    "DROP TRIGGER IF EXISTS numbers_app_eventday_delete",
]


def _backfill(vendor: str) -> str:
    day = POSTGRESQL_DAY if vendor == "postgresql" else "date(occurred_at)"
    return (
        "INSERT INTO numbers_app_numbereventday (account_id, day, shard, count) "
        f"SELECT account_id, {day}, 0, COUNT(*) FROM numbers_app_numberevent GROUP BY 1, 2"
    )


def _statements(vendor: str, forward: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_FORWARD if forward else POSTGRESQL_BACKWARD
    if vendor == "sqlite":
        return SQLITE_FORWARD if forward else SQLITE_BACKWARD
    raise NotImplementedError(f"NumberEventDay triggers are written for PostgreSQL and SQLite, not {vendor}.")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*_statements(vendor, forward=True), _backfill(vendor)]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_idempotency_lease"),
        ("numbers_app", "0010_number_routable"),
    ]

    operations = [
        migrations.CreateModel(
            name="NumberEventDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("count", models.BigIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
            ],
            options={
                "ordering": ["account", "day", "shard"],
                "constraints": [
                    models.UniqueConstraint(fields=("account", "day", "shard"), name="numbereventday_unique_shard"),
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
