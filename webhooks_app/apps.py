from django.apps import AppConfig


class WebhooksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks_app"
    verbose_name = "Webhooks"
