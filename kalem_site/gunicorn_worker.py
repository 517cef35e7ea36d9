"""The gunicorn worker of `make run` and production (gunicorn.conf.py): gunicorn's threaded
worker, made safe against slow clients, and answering its own errors in the API's envelope.

- A request's head (request line and headers) is read by the worker's event loop, without a
  thread: a client that sends its headers one line every few seconds (slowloris) holds only
  a socket, never one of the few request threads. A thread gets the connection once the head
  is complete. A head not complete within HEADER_TIMEOUT seconds is answered 408 and closed.
- Once in a thread, each read or write waits at most gunicorn's `timeout` for the client.
- gunicorn's own error answers (a malformed request line, headers too large, an error
  outside Django) are JSON in the API's error envelope, never its HTML page.
"""

import json
import os
import ssl
import time
from datetime import timedelta

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers import gthread

# Seconds a client has to send the request line and all headers of a request.
HEADER_TIMEOUT = float(os.environ.get("HEADER_TIMEOUT", "10"))
# A head this long is handed to gunicorn's parser as it is, which enforces its limits.
MAX_BUFFERED_HEAD = 64 * 1024
_END_OF_HEAD = (b"\r\n\r\n", b"\n\n")

# Status → code in the envelope (docs/API.md); 408 and 431 share bad_request's code.
_CODES = {400: "bad_request", 403: "forbidden", 408: "bad_request", 431: "bad_request", 501: "server_error"}


def json_error(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP response (closing the connection) with the error envelope."""
    code = _CODES.get(status, "server_error")
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _error_status(exc: Exception) -> tuple[int, str, str]:
    """(status, reason, message) of one of gunicorn's request errors, as gunicorn's own
    handle_error decides them."""
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431, "Request Header Fields Too Large", f"The request headers are too large: {exc}"
    if isinstance(exc, (http_errors.ForbiddenProxyRequest, ssl.SSLError)):
        return 403, "Forbidden", "Request forbidden."
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return 501, "Not Implemented", str(exc)
    if isinstance(exc, http_errors.ConfigurationProblem):
        return 500, "Internal Server Error", "Something went wrong on our side."
    if isinstance(exc, http_errors.ParseException):
        return 400, "Bad Request", f"The request is malformed: {exc}"[:500]
    return 500, "Internal Server Error", "Something went wrong on our side."


class ThreadWorker(gthread.ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Connections whose head is being read by the event loop (only its thread uses this).
        self._reading = set()

    def on_client_socket_readable(self, conn, client):
        if self.cfg.is_ssl:  # the head is encrypted: read in a thread, as gunicorn does
            return super().on_client_socket_readable(conn, client)
        try:
            data = conn.sock.recv(MAX_BUFFERED_HEAD)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        with self._lock:
            if conn.initialized and conn in self._keep:
                # The first bytes of a kept-alive connection's next request: from now on its
                # head deadline applies, not the keep-alive timeout.
                self._keep.remove(conn)
        if conn not in self._reading:
            self._reading.add(conn)
            conn.head = bytearray()
            conn.head_deadline = time.monotonic() + HEADER_TIMEOUT
        if not data:  # the client went away
            self._drop(conn)
            return
        searched_from = max(0, len(conn.head) - 3)
        conn.head += data
        if len(conn.head) < MAX_BUFFERED_HEAD and not any(end in conn.head[searched_from:] for end in _END_OF_HEAD):
            return
        with self._lock:
            self.poller.unregister(client)
        self._reading.discard(conn)
        self.enqueue_req(conn)

    def enqueue_req(self, conn):
        conn.init()
        # init() made the socket blocking: each read or write from the thread gives up after
        # `timeout` seconds instead of waiting for ever on a client that stopped.
        conn.sock.settimeout(self.cfg.timeout)
        head = getattr(conn, "head", None)
        if head:
            conn.parser.unreader.unread(bytes(head))
            conn.head = None
        future = self.tpool.submit(self.handle, conn)
        self._wrap_future(future, conn)

    def murder_keepalived(self):
        super().murder_keepalived()
        now = time.monotonic()
        for conn in [conn for conn in self._reading if conn.head_deadline <= now]:
            try:
                util.write_nonblock(
                    conn.sock, json_error(408, "Request Timeout", "The request headers came too slowly.")
                )
            except OSError:
                pass  # the client is gone or not reading: it is closed all the same
            self._drop(conn)

    def _drop(self, conn):
        self._reading.discard(conn)
        with self._lock:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass  # already unregistered
        self.nr_conns -= 1
        conn.close()

    def handle_error(self, req, client, addr, exc):
        """gunicorn's handle_error, answering in the error envelope instead of HTML."""
        addr = addr or ("", -1)
        status, reason, message = _error_status(exc)
        if status == 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
            if req is None and isinstance(exc, (http_errors.InvalidHeader, http_errors.InvalidHeaderName)):
                req = getattr(exc, "req", None)  # for the access log, as gunicorn does
        try:
            util.write_nonblock(client, json_error(status, reason, message))
        except Exception:
            self.log.debug("Failed to send error message.")
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            response = Response(req, client, self.cfg)
            response.status = f"{status} {reason}"
            response.response_length = len(message)
            self.log.access(response, req, environ, timedelta(0))
