"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 (ThreadingHTTPServer in
a thread, or its own process with `python -m tests.webhooks_app.receiver`) that verifies every
request's signature with the `standardwebhooks` library, using the secrets it is given (those
the create or rotate response returned), and keeps what it received.

`responses` scripts its answers: a list of (status, headers) used one per request, then
`default` (200) for the rest. `delay` holds the answer to the first request that long (a
sender caught mid-delivery). `payload` is the body of every answer, sent a byte every `drip`
seconds when that is set (a receiver that answers slowly). A request counts as received when
it arrives."""

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict
    body: bytes
    received_at: float
    # Which of the receiver's secrets verify the signature (each on its own).
    verified_by: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(
        self,
        *,
        secrets=(),
        responses=(),
        default: int = 200,
        delay: float = 0.0,
        payload: bytes = b'{"ok": true}',
        drip: float = 0.0,
    ):
        self.secrets = list(secrets)
        self.payload = payload
        self.drip = drip
        self.responses = list(responses)
        self.default = default
        self.delay = delay
        self.received: list[Received] = []
        self.unverified: list[Received] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verify(self, received: Received) -> None:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(received.body, received.headers)
            except WebhookVerificationError as error:
                received.errors.append(str(error))
                continue
            received.verified_by.append(secret)

    def answer(self) -> tuple[int, dict]:
        with self.lock:
            if self.responses:
                return self.responses.pop(0)
        return self.default, {}

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        """Wait until `count` verified requests arrived; all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(
                f"{len(self.received)} of {count} webhook requests arrived ({len(self.unverified)} unverified)"
            )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a worker connects 50 at once

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received = Received({key.lower(): value for key, value in self.headers.items()}, body, time.time())
        receiver.verify(received)
        with receiver.lock:
            (receiver.received if received.verified_by else receiver.unverified).append(received)
            delay, receiver.delay = receiver.delay, 0.0  # the first request only
        if delay:
            time.sleep(delay)  # holds the sender mid-delivery
        status, headers = receiver.answer()
        payload = receiver.payload
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not receiver.drip:
            self.wfile.write(payload)
            return
        for index in range(len(payload)):
            self.wfile.write(payload[index : index + 1])
            self.wfile.flush()
            time.sleep(receiver.drip)

    def log_message(self, format, *args) -> None:
        pass
