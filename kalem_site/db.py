"""Database helpers shared by the services of every app."""

import sqlite3

from django.db import connections, models, router, transaction
from django.utils import timezone


def save_changed_fields(instance: models.Model, fields: list[str]) -> None:
    """UPDATE just these columns (and `updated_at`) of an existing row, in one statement.

    Saving only what changed keeps two concurrent edits of different fields from undoing each
    other. A row deleted meanwhile raises the model's DoesNotExist (the API answers 404)
    rather than a 500, or a plain save() quietly inserting the deleted row again."""
    if not fields:
        return
    instance.updated_at = timezone.now()
    values = {field: getattr(instance, field) for field in [*fields, "updated_at"]}
    if not type(instance)._base_manager.filter(pk=instance.pk).update(**values):
        raise type(instance).DoesNotExist(f"{type(instance).__name__} {instance.pk} was deleted.")


_UNSET = object()

# Rows per INSERT statement of insert_many() on SQLite, at most.
INSERT_CHUNK_ROWS = 500


def insert_many(model: type[models.Model], rows: list[dict]) -> None:
    """INSERT `rows` (dicts of the same columns, by field name or attname): with COPY on
    PostgreSQL, a few hundred rows per multi-row statement on SQLite.

    For the writes of thousands of rows at once (an import, its audit events): bulk_create
    compiles SQL for every value of every row, which cost more than the database itself
    (about 0.3 ms a row). Values go through each field's own conversion, so JSON and times are
    stored as bulk_create would store them; no defaults are filled in and no ids come back."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in rows[0]]
    # Strings and integers go as they are; other values through their field's conversion.
    plain = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)
    prepare = [None if isinstance(field, plain) else field.get_db_prep_save for field in fields]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)

    # The last value converted per column: rows of one write often share a value (the same
    # moment, the same payload), which is then converted once.
    last: list[tuple] = [(_UNSET, None)] * len(fields)

    def convert(index: int, conversion, value):
        if conversion is None:
            return value
        seen, converted = last[index]
        if seen is value:
            return converted
        converted = conversion(value, connection)
        last[index] = (value, converted)
        return converted

    def values(row: dict) -> list:
        return [
            convert(index, conversion, value)
            for index, (conversion, value) in enumerate(zip(prepare, row.values(), strict=True))
        ]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: no SQL to build or parse for thousands of values (psycopg's parsing of a
            # long multi-row INSERT cost more than the insert), and statement-level triggers
            # fire once for all the rows.
            # Through psycopg's own cursor, so its errors are wrapped into Django's here (a
            # duplicate number is an IntegrityError, as from any other query).
            with connection.wrap_database_errors:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(values(row))
            return
        head = f"INSERT INTO {table} ({columns}) VALUES "
        placeholders = "({})".format(", ".join(["%s"] * len(fields)))
        # Within SQLite's limit on parameters per statement (999 before SQLite 3.32, 32,766 since).
        limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        chunk_rows = max(1, min(INSERT_CHUNK_ROWS, limit // len(fields)))
        for start in range(0, len(rows), chunk_rows):
            chunk = rows[start : start + chunk_rows]
            params = [value for row in chunk for value in values(row)]
            cursor.execute(head + ", ".join([placeholders] * len(chunk)), params)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` primary keys for rows about to be inserted with insert_many() (which returns no
    ids). PostgreSQL takes them from the table's sequence in one statement; on SQLite the
    transaction already holds the write lock (IMMEDIATE transactions), so the ids after the
    largest ever used are free until it commits."""
    if count <= 0:
        return []
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
            )
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"COALESCE((SELECT MAX({quote(column)}) FROM {quote(table)}), 0))",
            [table],
        )
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def transaction_cache(using: str = "default") -> dict | None:
    """A dict that lives as long as the current transaction (None outside one): for what a
    transaction looks up once and then reuses, such as whose webhooks an event goes to.

    It is known to belong to this transaction by a marker callback registered with
    on_commit: a commit runs it (forgetting the dict), a rollback discards it, and so does
    the rollback of the savepoint it was registered in."""
    connection = connections[using]
    if not connection.in_atomic_block:
        return None
    held = getattr(connection, "_kalem_transaction_cache", None)
    if held is not None and any(entry[1] is held[0] for entry in connection.run_on_commit):
        return held[1]
    data: dict = {}

    def forget() -> None:
        if getattr(connection, "_kalem_transaction_cache", None) is held_now:
            connection._kalem_transaction_cache = None

    held_now = (forget, data)
    connection._kalem_transaction_cache = held_now
    transaction.on_commit(forget, using=using)
    return data
