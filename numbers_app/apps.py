from django.apps import AppConfig


class NumbersAppConfig(AppConfig):
    name = "numbers_app"
    verbose_name = "Numbers"
