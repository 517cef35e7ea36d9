"""Sign-in throttling (django-axes, configured in settings: LOGIN_FAILURE_LIMIT,
LOGIN_COOLOFF_MINUTES): the client address a sign-in is counted against, and a log line for
every failed sign-in, which never holds the password. The lockout page is a view
(kalem_site.accounts.views.locked_out)."""

import logging

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

log = logging.getLogger("kalem_site.login")


def client_address(request) -> str:
    """REMOTE_ADDR; behind the trusted proxy (settings.BEHIND_PROXY), the address the proxy
    appended to X-Forwarded-For: the entries before it are whatever the client sent."""
    if settings.BEHIND_PROXY:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


@receiver(user_login_failed, dispatch_uid="kalem_site.accounts.throttle.log_failed_login")
def log_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    # `credentials` is what authenticate() was given, the password already masked by Django;
    # only the username is logged, never the rest.
    username = str(credentials.get("username", ""))[:150]
    address = client_address(request) if request is not None else "-"
    path = request.path if request is not None else "-"
    log.warning("Failed sign-in for username %r from %s on %s", username, address, path)
