from rest_framework import permissions

from kalem_site.accounts.models import ApiToken


class TokenPermission(permissions.BasePermission):
    """A valid token may read; only a token that is not read-only may write."""

    message = "This token is read-only."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiToken):
            return False  # DRF answers 401 when no authenticator succeeded
        if request.method not in view.allowed_methods:
            return True  # let the view answer 405, as it does for every token
        return request.method in permissions.SAFE_METHODS or not request.auth.read_only
