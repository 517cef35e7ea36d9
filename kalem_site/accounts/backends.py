"""The authentication backend of the dashboard and the admin."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class AccountUserBackend(ModelBackend):
    """Django's ModelBackend, loading the signed-in user of each request together with their
    account: every dashboard page reads `request.user.account`, which would otherwise be a
    second query."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("account").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
