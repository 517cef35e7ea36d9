"""The gunicorn worker of `make run` and production (gunicorn.conf.py): gunicorn's threaded
worker, made safe against slow clients, and answering its own errors in the API's envelope.

- A request's head (request line and headers) and its body are read by the worker's event
  loop, without a thread: a client that sends its headers one line every few seconds
  (slowloris), or a complete head with `Content-Length: 100000` and then nothing, holds only
  a socket, never one of the few request threads. A thread gets the connection once the whole
  request is buffered; the buffered bytes are replayed to gunicorn's parser unchanged.
- Deadlines, from the request's first byte: the head within HEADER_TIMEOUT seconds, and head
  and body together within BODY_TIMEOUT seconds; otherwise the client gets a JSON 408 and
  the connection is closed.
- Bodies are buffered up to the largest the app takes, IMPORT_MAX_BYTES + MAX_REQUEST_BYTES
  (a dashboard import's file plus the form's other fields; at most that much memory per
  connection); a larger declared Content-Length is answered 413 at once. A body without a
  Content-Length (chunked) is handed over as it is: gunicorn reads it in the thread and the
  app refuses it (kalem_site/api/views.py).
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
# Seconds a client has to send a whole request, head and body (at least HEADER_TIMEOUT).
BODY_TIMEOUT = max(HEADER_TIMEOUT, float(os.environ.get("BODY_TIMEOUT", "60")))
# A head this long is handed to gunicorn's parser as it is, which enforces its limits.
MAX_BUFFERED_HEAD = 64 * 1024
# The largest body the app accepts (settings.py reads the same variables): an import file plus
# the other fields of its form. Larger declared bodies are refused here with a 413.
MAX_BUFFERED_BODY = int(os.environ.get("IMPORT_MAX_BYTES", str(64 * 1024 * 1024))) + int(
    os.environ.get("MAX_REQUEST_BYTES", str(1024 * 1024))
)
_END_OF_HEAD = (b"\r\n\r\n", b"\n\n")
_READ_SIZE = 256 * 1024

# Status → code in the envelope (docs/API.md); 408 and 431 share bad_request's code.
_CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "bad_request",
    413: "payload_too_large",
    431: "bad_request",
    501: "server_error",
}


def _end_of_head(buffer: bytearray, searched_from: int) -> int | None:
    """The index just past the blank line that ends the head, if it is in the buffer."""
    ends = [(i, len(end)) for end in _END_OF_HEAD if (i := buffer.find(end, searched_from)) >= 0]
    if not ends:
        return None
    index, length = min(ends)
    return index + length


def _declared_body(head: bytes) -> tuple[int | None, bool]:
    """(Content-Length, Expect: 100-continue) of a head. The length is None when there is no
    body to buffer: none declared, a Transfer-Encoding, or a Content-Length gunicorn's parser
    will refuse (it gets the head as it is and answers the 400)."""
    lengths, chunked, expect = set(), False, False
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            lengths.add(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect" and value == b"100-continue":
            expect = True
    if chunked or len(lengths) != 1:
        return None, expect
    (value,) = lengths
    if not value.isdigit():
        return None, expect
    return int(value), expect


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
        if self.cfg.is_ssl:  # the request is encrypted: read in a thread, as gunicorn does
            return super().on_client_socket_readable(conn, client)
        try:
            data = conn.sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        with self._lock:
            if conn.initialized and conn in self._keep:
                # The first bytes of a kept-alive connection's next request: from now on its
                # request deadlines apply, not the keep-alive timeout.
                self._keep.remove(conn)
        if conn not in self._reading:
            self._reading.add(conn)
            conn.head = bytearray()
            conn.request_end = None  # the buffer's length once head and body are in it
            conn.started = time.monotonic()
            conn.head_deadline = conn.started + HEADER_TIMEOUT
        if not data:  # the client went away
            self._drop(conn)
            return
        searched_from = max(0, len(conn.head) - 3)
        conn.head += data
        if conn.request_end is None:
            head_end = _end_of_head(conn.head, searched_from)
            if head_end is None:
                if len(conn.head) < MAX_BUFFERED_HEAD:
                    return
                conn.request_end = len(conn.head)  # too long: gunicorn's parser refuses it
            else:
                length, expect = _declared_body(bytes(conn.head[:head_end]))
                if length is not None and length > MAX_BUFFERED_BODY:
                    self._refuse(conn, 413, "Payload Too Large", "The request body is too large.")
                    return
                conn.request_end = head_end + (length or 0)
                if length:
                    conn.head_deadline = conn.started + BODY_TIMEOUT
                    if expect and len(conn.head) == head_end:
                        # The client waits for this before it sends the body. gunicorn sends
                        # it again in the thread: clients skip any number of 1xx answers.
                        try:
                            util.write_nonblock(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
                        except OSError:
                            pass  # a client that is gone is dropped on its next read
        if len(conn.head) < conn.request_end:
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
            part = "headers" if conn.request_end is None else "body"
            self._refuse(conn, 408, "Request Timeout", f"The request {part} came too slowly.")

    def _refuse(self, conn, status: int, reason: str, message: str):
        """Answer a request still being read with an error, and close its connection."""
        try:
            util.write_nonblock(conn.sock, json_error(status, reason, message))
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
