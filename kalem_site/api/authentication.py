"""Bearer-token authentication: `Authorization: Bearer <token>`."""

from collections.abc import Callable

from django.conf import settings
from rest_framework import authentication, exceptions

from kalem_site.accounts.models import ApiToken, hash_token
from kalem_site.accounts.selectors import token_by_digest
from kalem_site.accounts.services import token_touch


class TokenUser:
    """Stands in for `request.user` on API requests: the caller is a token, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: ApiToken):
        self.token = token

    def __str__(self) -> str:
        return f"token {self.token.name}"


class MalformedHeader(ValueError):
    pass


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header.

    Raises MalformedHeader when the header is not of that form."""
    if not header:
        return None
    scheme, _, plaintext = header.strip().partition(" ")
    plaintext = plaintext.strip()
    if scheme.lower() != "bearer" or not plaintext or " " in plaintext:
        raise MalformedHeader
    return plaintext


def token_from_header(header: str, read_with: Callable[[str], ApiToken | None] | None = None) -> ApiToken | None:
    """The usable token that an `Authorization: Bearer <token>` header names, or None.

    `read_with(digest)`, when given, reads the token together with the row its request needs
    (in one query) and returns it, usable or not; when it finds nothing, the token is read
    alone. Raises MalformedHeader when the header is not of that form."""
    plaintext = bearer_token(header)
    if plaintext is None:
        return None
    digest = hash_token(plaintext)
    token = read_with(digest) if read_with is not None else None
    if token is None:
        token = token_by_digest(digest)
    return token if token is not None and token.is_usable else None


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # the permission check then answers 401
        # The view may read its row together with the token (AccountScopedGenericViewSet.read_with_token).
        view = request.parser_context.get("view")
        try:
            token = token_from_header(header, getattr(view, "read_with_token", None))
        except MalformedHeader:
            raise exceptions.AuthenticationFailed("Send the token as: Authorization: Bearer <token>.") from None
        if token is None:
            raise exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
        token_touch(token=token, resolution_seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
