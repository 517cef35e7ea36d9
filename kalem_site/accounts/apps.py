from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kalem_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Django's own hook for failed sign-ins (dashboard and admin alike): logs each one.
        from . import throttle  # noqa: F401
