"""Bearer-token authentication: `Authorization: Bearer <token>`."""

from django.conf import settings
from rest_framework import authentication, exceptions

from kalem_site.accounts.models import ApiToken, hash_token
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
        self.account = token.account

    def __str__(self) -> str:
        return f"token {self.token.name}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # the permission check then answers 401
        scheme, _, plaintext = header.strip().partition(" ")
        plaintext = plaintext.strip()
        if scheme.lower() != "bearer" or not plaintext or " " in plaintext:
            raise exceptions.AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        token = ApiToken.objects.select_related("account").filter(digest=hash_token(plaintext)).first()
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
        token_touch(token=token, resolution_seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
