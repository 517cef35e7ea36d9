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
"""

import select
import time

import psycopg
from django.db.backends.postgresql import base
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


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()

    def get_connection_params(self):
        params = super().get_connection_params()
        seconds = self.settings_dict.get("STATEMENT_TIMEOUT")
        if seconds:
            server_options = params.get("options", "")
            params["options"] = f"{server_options} -c statement_timeout={round(seconds * 1000)}".strip()
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        seconds = self.settings_dict.get("STATEMENT_TIMEOUT")
        if seconds:
            connection.wait_timeout = seconds + WAIT_MARGIN_SECONDS
        return connection
