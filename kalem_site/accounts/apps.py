from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kalem_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"
