"""Django's PostgreSQL backend with a bound on every wait for the server.

`connect_timeout` (an OPTIONS key libpq knows) bounds connecting, and the server's
`statement_timeout` cancels a query that runs too long; neither helps when the server is
frozen (stopped, swapped out, a network that drops packets): the kernel keeps the TCP
connection open and psycopg waits for an answer for ever. So the connection here also gives
up on its own, on the client side, a little after the statement timeout: the query fails with
an OperationalError (the API answers 503), the connection is closed, and the next request
opens a new one.

Set `STATEMENT_TIMEOUT` (seconds) in the database's settings; settings.py does, from
DB_STATEMENT_TIMEOUT (or DB_STATEMENT_TIMEOUT_LONG for management commands).

Three costs of every request are cut here too (issue 14's profile):

- timestamps are loaded by psycopg's own (C) timestamptz loader, not by Django's Python
  subclass of it, which re-stamps every value with the connection's time zone: with
  TIME_ZONE = "UTC" the session's zone is UTC, so psycopg's values are already UTC;
- the health check (CONN_HEALTH_CHECKS) asks the socket, not the server: a connection the
  server closed (a restart, a killed backend) has something to read while idle, so one
  zero-timeout poll replaces a `SELECT 1` round trip per request;
- `server_binding_cursor()` is a cursor with server-side binding, which psycopg prepares
  after `prepare_threshold` runs of the same SQL: kalem_site.db.CompiledQuery runs the API's
  hot queries through it. settings.py sets the threshold from DB_PREPARED_STATEMENTS (off
  behind a transaction-pooling PgBouncer; the binding stays server-side, unnamed, which any
  pooler passes through).
"""

import select
import time

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
from psycopg.adapt import AdaptersMap
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg.types.datetime import TimestamptzLoader
from psycopg.waiting import READY_NONE, READY_R, READY_W, Wait

# How much longer than the statement timeout the client waits: the server's own cancel,
# which keeps the connection usable, normally comes first.
WAIT_MARGIN_SECONDS = 2.0

_POLL_EVENTS = {
    Wait.R: select.POLLIN,
    Wait.W: select.POLLOUT,
    Wait.RW: select.POLLIN | select.POLLOUT,
}


class BoundedConnection(psycopg.Connection):
    """A psycopg connection that waits at most `wait_timeout` seconds for each operation."""

    wait_timeout: float | None = None

    def wait(self, gen, interval=None):
        if self.wait_timeout is None:
            return super().wait(gen, interval)
        fileno = self.pgconn.socket
        deadline = time.monotonic() + self.wait_timeout
        try:
            state = next(gen)
            poll = select.poll()
            poll.register(fileno, _POLL_EVENTS[state])
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    # Mid-protocol: the connection cannot be used again. Closing it lets the
                    # server (once it answers) see the client gone, and Django open a new one.
                    self.pgconn.finish()
                    raise psycopg.OperationalError(f"The database did not answer within {self.wait_timeout:g} seconds.")
                events = poll.poll(min(left, 1.0) * 1000)
                if not events:
                    gen.send(READY_NONE)
                    continue
                event = events[0][1]
                ready = 0
                if event & ~select.POLLOUT:
                    ready = READY_R
                if event & ~select.POLLIN:
                    ready |= READY_W
                state = gen.send(ready)
                poll.modify(fileno, _POLL_EVENTS[state])
        except StopIteration as stop:
            return stop.value


class _Psycopg:
    """The psycopg module as Django's backend uses it, except that it connects with
    BoundedConnection."""

    def __getattr__(self, name):
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args, **kwargs):
        return BoundedConnection.connect(*args, **kwargs)


def _psycopg_timestamps(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters, with psycopg's own timestamptz loader back in place."""
    adapters = AdaptersMap(template)
    adapters.register_loader("timestamptz", TimestamptzLoader)
    return adapters


_ADAPTERS: dict[int, AdaptersMap] = {}


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # A server-bound query has no client-side text: compose one, for the query log only
        # (DEBUG, and the tests' query counts).
        text = super().last_executed_query(cursor, sql, params)
        if text is None and sql is not None:
            try:
                return self.compose_sql(sql, params)
            except psycopg.Error:
                return sql
        return text


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()
    ops_class = DatabaseOperations

    @property
    def _utc_session(self) -> bool:
        # Django asks the server for this zone on every new connection (_configure_timezone).
        return settings.USE_TZ and self.timezone_name == "UTC"

    def get_connection_params(self):
        params = super().get_connection_params()
        seconds = self.settings_dict.get("STATEMENT_TIMEOUT")
        if seconds:
            server_options = params.get("options", "")
            params["options"] = f"{server_options} -c statement_timeout={round(seconds * 1000)}".strip()
        if self._utc_session and "context" in params:
            template = params["context"]
            if id(template) not in _ADAPTERS:
                _ADAPTERS[id(template)] = _psycopg_timestamps(template)
            params["context"] = _ADAPTERS[id(template)]
        return params

    def create_cursor(self, name=None):
        if not self._utc_session:
            return super().create_cursor(name)  # Django's loader, re-stamping each value
        # As Django's, without its check of its own loader's zone (the session's is UTC).
        if not name:
            return self.connection.cursor()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            return base.ServerSideCursor(
                self.connection, name=name, scrollable=False, withhold=self.connection.autocommit
            )
        return self.connection.cursor(name, scrollable=False, withhold=self.connection.autocommit)

    def server_binding_cursor(self):
        """A Django cursor (counted, its errors wrapped) whose queries are bound on the server,
        so that psycopg prepares those run often enough (OPTIONS["prepare_threshold"])."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(base.ServerBindingCursor(self.connection))

    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        pgconn = connection.pgconn
        if pgconn.status != ConnStatus.OK or pgconn.transaction_status == TransactionStatus.UNKNOWN:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return False
        # Between requests the server has nothing to say: anything to read is its goodbye
        # (an error message before it closed, or the close itself).
        return not readable

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        seconds = self.settings_dict.get("STATEMENT_TIMEOUT")
        if seconds:
            connection.wait_timeout = seconds + WAIT_MARGIN_SECONDS
        return connection
