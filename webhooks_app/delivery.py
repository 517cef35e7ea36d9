"""One HTTP attempt of a message: resolve and check the host again (DNS rebinding), connect to
the checked address, send the signed body, never follow a redirect. No database access here:
attempts run in threads, and the caller records what they return."""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from . import ssrf
from .models import RESPONSE_EXCERPT_BYTES
from .signing import signature_header

USER_AGENT = "kalem-webhooks/1.0 (+https://kalem.me)"
logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status_code: int | None
    error: str
    response_excerpt: str
    duration_ms: int
    retry_after: float | None  # seconds, from a 429's or 503's Retry-After

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait: `Retry-After: 120` or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which str.isdigit() also takes
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# When the attempt running in this thread must end (time.monotonic()): the contract's timeout
# is per attempt, while httpx's timeouts bound each read and write alone, so a receiver that
# answered a byte every few seconds could hold an attempt for hours.
_attempt = threading.local()


def _within_deadline(timeout: float | None, expired: type[Exception]) -> float | None:
    """The timeout of one network operation, shortened to what is left of the attempt."""
    deadline = getattr(_attempt, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("The attempt's time is up.")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> "_DeadlineStream":
        try:
            timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        except httpcore.ConnectTimeout:
            self.stream.close()  # as httpcore's own start_tls does when it fails
            raise
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's own sockets, every operation bounded by the running attempt's deadline."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(super().connect_tcp(host, port, timeout, local_address, socket_options))


# httpx's own default limits (httpx.Limits() alone would be none).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def _client() -> httpx.Client:
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.HTTPTransport(verify=ssl_context, limits=_LIMITS, trust_env=False)
    # httpx's transport with the pool it builds itself (the same TLS context and limits), but
    # for the network backend, which httpx does not let one choose.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=_LIMITS.max_connections,
        max_keepalive_connections=_LIMITS.max_keepalive_connections,
        keepalive_expiry=_LIMITS.keepalive_expiry,
        network_backend=_DeadlineBackend(),
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(settings.WEBHOOK_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


class Sender:
    """Sends attempts, with one connection pool per checked (scheme, host, address, port),
    so that a TLS connection is only reused for the host name it was verified for."""

    def __init__(self):
        self.clients: dict[tuple, httpx.Client] = {}

    # Connection pools kept at most; beyond, all are closed and built again as needed.
    MAX_CLIENTS = 64

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    def trim(self) -> None:
        if len(self.clients) > self.MAX_CLIENTS:
            self.close()

    def _client(self, target: ssrf.Target) -> httpx.Client:
        key = (target.scheme, target.host, target.address, target.port)
        client = self.clients.get(key)
        if client is None:
            # Concurrent first uses may build two; the spare is closed.
            built = _client()
            client = self.clients.setdefault(key, built)
            if client is not built:
                built.close()
        return client

    def send(self, *, url: str, message_id: str, body: str, secrets: list[str]) -> Outcome:
        """The attempt's outcome; whatever goes wrong in it is a failed attempt (to retry),
        never an error that would lose the other attempts sent with it."""
        started = time.monotonic()
        _attempt.deadline = started + settings.WEBHOOK_TIMEOUT
        try:
            return self._send(url=url, message_id=message_id, body=body, secrets=secrets, started=started)
        except Exception as error:
            # The host only: a webhook URL's path or query often holds the receiver's token.
            logger.exception("Webhook attempt of %s to %s failed unexpectedly.", message_id, _host_of(url))
            duration = int((time.monotonic() - started) * 1000)
            return Outcome(None, f"Could not send: {type(error).__name__}: {error}"[:300], "", duration, None)
        finally:
            _attempt.deadline = None

    def _send(self, *, url: str, message_id: str, body: str, secrets: list[str], started: float) -> Outcome:
        def outcome(status_code=None, error="", excerpt="", retry_after=None) -> Outcome:
            duration = int((time.monotonic() - started) * 1000)
            return Outcome(status_code, error[:300], excerpt, duration, retry_after)

        try:
            target = ssrf.resolve(url)
        except ssrf.UnsafeURL as error:
            return outcome(error=f"Refused: {error}")
        timestamp = datetime.now(UTC)
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != default_port:
            host_header = f"{host_header}:{target.port}"
        headers = {
            "Host": host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # The excerpt the log keeps is the body as text: not compressed bytes.
            "Accept-Encoding": "identity",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature_header(secrets, message_id, timestamp, body),
        }
        request_url = httpx.URL(url).copy_with(host=target.address)
        # TLS: the server name (SNI) and the certificate check use the host name, while the
        # connection goes to the address that was checked.
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        client = self._client(target)
        try:
            request = client.build_request(
                "POST", request_url, content=body.encode(), headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                excerpt = b""
                for chunk in response.iter_raw():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break
            finally:
                response.close()
        except httpx.TimeoutException:
            return outcome(error=f"Timed out after {settings.WEBHOOK_TIMEOUT:g} s.")
        except httpx.ConnectError as error:
            return outcome(error=f"Could not connect: {error}")
        except httpx.HTTPError as error:
            return outcome(error=f"{type(error).__name__}: {error}")
        retry_after = None
        if response.status_code in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # As text: undecodable bytes and NUL (which PostgreSQL's text refuses) become U+FFFD.
        text = excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        return outcome(response.status_code, excerpt=text, retry_after=retry_after)
