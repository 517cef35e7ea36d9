"""Which webhook URLs may be called (shared/WEBHOOKS.md §1): https only, at most 2,000
characters, no credentials, and a host that is not and does not resolve to a loopback,
private, link-local, multicast, reserved or unspecified address. Checked when an endpoint is
saved and again at every delivery, where the connection then goes to the address checked
(so a DNS answer that changes in between cannot point it inside).

WEBHOOK_ALLOW_INSECURE=1 (development and tests) also allows http:// and such hosts."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from .models import MAX_URL_LENGTH


class UnsafeURL(Exception):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the name for SNI, certificates and Host)
    port: int
    address: str  # the checked IP address to connect to


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10, deprecated but routed as private by some
            return "a private"
        # An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo) is judged as itself: the
        # network may deliver to it (Python 3.11 calls 2002:7f00:1:: public).
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        for inner in embedded:
            if inner is not None and _forbidden(inner):
                return _forbidden(inner)
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved or not address.is_global),
    ):
        if flag:
            return kind
    return None


def check_syntax(url: str) -> tuple[str, str, int]:
    """The URL's scheme, host and port, or UnsafeURL."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"The URL is longer than {MAX_URL_LENGTH:,} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("Enter a valid URL.") from None
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_INSECURE else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeURL("The URL must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("The URL must not contain credentials.")
    # No spaces, control or other unprintable characters anywhere, and a URL that the HTTP
    # client can send: its host in ASCII (an internationalised name as its IDNA form, for DNS,
    # TLS and Host).
    if any(char.isspace() or not char.isprintable() for char in url):
        raise UnsafeURL("Enter a valid URL.")
    try:
        host = httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise UnsafeURL("Enter a valid URL.") from None
    if not host or not parts.hostname:
        raise UnsafeURL("Enter a valid URL.")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str) -> Target:
    """Check the URL and resolve its host; every address it resolves to must be public. The
    first is the one to connect to."""
    scheme, host, port = check_syntax(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UnsafeURL(f"The host {host} does not resolve.") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if not addresses:
            raise UnsafeURL(f"The host {host} does not resolve.")
    if not settings.WEBHOOK_ALLOW_INSECURE:
        for address in addresses:
            kind = _forbidden(address)
            if kind:
                raise UnsafeURL(f"The host {host} is or resolves to {kind} address ({address}), which is not allowed.")
    return Target(scheme=scheme, host=host, port=port, address=str(addresses[0]))
