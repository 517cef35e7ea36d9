"""Validators for SIP trunk addresses, shared by the model, the API and the dashboard."""

import ipaddress
import re

from django.core.exceptions import ValidationError

# RFC 1123 hostname: dot-separated labels of letters, digits and inner hyphens.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_host(value: str) -> None:
    if not (is_ip_address(value) or _HOSTNAME_RE.fullmatch(value)):
        raise ValidationError("Enter a valid IP address or hostname.", code="invalid_host")


def validate_host_port(value: str) -> None:
    """`host`, `host:port`, or `[ipv6]:port`."""
    message = "Enter a host or host:port, e.g. sip.carrier.example:5060."
    host, port = value, None
    if value.startswith("["):
        closing = value.find("]")
        if closing == -1:
            raise ValidationError(message, code="invalid_host_port")
        host, rest = value[1:closing], value[closing + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValidationError(message, code="invalid_host_port")
            port = rest[1:]
        if not is_ip_address(host):
            raise ValidationError(message, code="invalid_host_port")
    elif value.count(":") == 1:
        host, port = value.split(":")
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValidationError("The port must be a number from 1 to 65535.", code="invalid_port")
    if not value.startswith("["):
        try:
            validate_host(host)
        except ValidationError:
            raise ValidationError(message, code="invalid_host_port") from None
