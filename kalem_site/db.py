"""Database helpers shared by the services of every app."""

import re
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
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
            # The sequence's name looked up once (MATERIALIZED), not once per id: 0.8 ms for
            # a thousand ids instead of 4.
            cursor.execute(
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
                "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
                [table, column, count],
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


# Compiled queries --------------------------------------------------------------------------

_SENTINEL_INT = 2_000_000_001  # within every integer column's range (lookups check it)
_SENTINEL_OFFSET, _SENTINEL_SIZE = 987_654_321, 123_456_789
_PLACEHOLDER = re.compile(r"%%|%s")


class _Param:
    def __init__(self, name: str):
        self.name = name


class CompiledQuery:
    """A `.values()` queryset compiled to SQL once per database connection, then run with new
    parameter values: the ORM's compilation (0.5–1 ms for a joined query) is paid once per
    process thread, not once per request, and the text of the SQL is the same every time, so
    PostgreSQL can keep it prepared (kalem_site/postgresql: `server_binding_cursor`).

    `build(**params)` returns the queryset; it is called once, with stand-ins for the
    parameters (`int` or `str` as declared), whose places in the compiled SQL's parameters
    are then filled with each run's values. With `sliced=True`, `build` also gets `offset` and
    `size` and must slice the queryset (or a subquery) with `[offset : offset + size]`: the
    LIMIT and OFFSET become parameters too. Rows come back with the backend's and the
    fields' converters applied, exactly as the queryset itself would return them."""

    def __init__(self, build: Callable[..., models.QuerySet], *, sliced: bool = False, **params: type):
        self.build = build
        self.sliced = sliced
        self.params = params

    def _compile(self, connection) -> tuple:
        stand_ins, by_value = {}, {}
        for index, (name, kind) in enumerate(self.params.items()):
            value = _SENTINEL_INT + index if kind is int else f"\x1a{name}\x1a"
            stand_ins[name] = value
            by_value[value] = name
        if self.sliced:
            stand_ins.update(offset=_SENTINEL_OFFSET, size=_SENTINEL_SIZE)
        queryset = self.build(**stand_ins)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = [
            _Param(by_value[value]) if isinstance(value, int | str) and value in by_value else value for value in params
        ]
        if self.sliced:
            limit = f"LIMIT {_SENTINEL_SIZE} OFFSET {_SENTINEL_OFFSET}"
            if sql.count(limit) != 1:
                raise ValueError(f"A sliced CompiledQuery needs exactly one [offset : offset + size]: {sql}")
            at = sql.index(limit)
            before = sum(1 for match in _PLACEHOLDER.finditer(sql, 0, at) if match.group() == "%s")
            sql = sql.replace(limit, "LIMIT %s OFFSET %s")
            slots[before:before] = [_Param("size"), _Param("offset")]
        missing = set(self.params) - {slot.name for slot in slots if isinstance(slot, _Param)}
        if missing:
            raise ValueError(f"Parameters not found in the compiled SQL (transformed by a lookup?): {missing}")
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        query = queryset.query
        # As Django's ValuesIterable names the columns: in the order values() gave them.
        names = (
            list(query.selected)
            if query.selected
            else [*query.extra_select, *query.values_select, *query.annotation_select]
        )
        return sql, slots, compiler, compiler.get_converters(columns), names

    def _compiled(self, connection) -> tuple:
        cache = connection.__dict__.setdefault("_kalem_compiled_queries", {})
        compiled = cache.get(self)
        if compiled is None:
            compiled = cache[self] = self._compile(connection)
        return compiled

    def rows(self, using: str = "default", **values) -> tuple[list[str], list]:
        """The column names, and the rows as lists of converted values."""
        connection = connections[using]
        sql, slots, compiler, converters, names = self._compiled(connection)
        params = [values[slot.name] if isinstance(slot, _Param) else slot for slot in slots]
        cursor_of = getattr(connection, "server_binding_cursor", connection.cursor)
        with cursor_of() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return names, rows

    def dicts(self, using: str = "default", **values) -> list[dict]:
        names, rows = self.rows(using, **values)
        return [dict(zip(names, row, strict=True)) for row in rows]


@contextmanager
def long_statements(using: str = "default"):
    """DB_STATEMENT_TIMEOUT_LONG instead of the connection's statement timeout for the
    statements of this block, which must run inside a transaction: for the one statement of a
    request that is allowed to take long (a bulk job's snapshot of a million ids). The server's
    timeout is set for the transaction only (set_config(…, true)), the client's bound on each
    wait (kalem_site.postgresql) for the block. A no-op on other databases."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    seconds = settings.DB_STATEMENT_TIMEOUT_LONG
    previous_wait = getattr(raw, "wait_timeout", None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{round(seconds * 1000)}"])
    if previous_wait is not None:
        raw.wait_timeout = seconds + (previous_wait - (connection.settings_dict.get("STATEMENT_TIMEOUT") or 0))
    try:
        yield
    finally:
        raw.wait_timeout = previous_wait
        if not raw.closed:
            previous = connection.settings_dict.get("STATEMENT_TIMEOUT")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    [f"{round(previous * 1000)}" if previous else "0"],
                )
