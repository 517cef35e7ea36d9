"""Database helpers shared by the services of every app."""

import sqlite3

from django.db import connections, models, router
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
    plain = (models.CharField, models.IntegerField, models.ForeignKey)
    prepare = [None if isinstance(field, plain) else field.get_db_prep_save for field in fields]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)

    def values(row: dict) -> list:
        return [
            value if conversion is None else conversion(value, connection)
            for conversion, value in zip(prepare, row.values(), strict=True)
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
