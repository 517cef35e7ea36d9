"""One HTTP attempt of a message: resolve and check the host again (DNS rebinding), connect to
the checked address, send the signed body, never follow a redirect. No database access here:
attempts run in threads, and the caller records what they return."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings

from . import ssrf
from .models import RESPONSE_EXCERPT_BYTES
from .signing import signature_header

USER_AGENT = "kalem-webhooks/1.0 (+https://kalem.me)"


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
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
            client = httpx.Client(
                timeout=httpx.Timeout(settings.WEBHOOK_TIMEOUT), follow_redirects=False, trust_env=False
            )
            self.clients.setdefault(key, client)
            client = self.clients[key]
        return client

    def send(self, *, url: str, message_id: str, body: str, secrets: list[str]) -> Outcome:
        started = time.monotonic()

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
        text = excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
        return outcome(response.status_code, excerpt=text, retry_after=retry_after)
