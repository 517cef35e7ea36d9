"""Read-only admin for staff: endpoints (never their secrets), messages and attempts."""

from django.contrib import admin

from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "url", "enabled", "disabled_reason", "last_success_at", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    list_select_related = ("account",)
    # The secrets are left out on purpose: staff never see them.
    fields = (
        "account",
        "url",
        "description",
        "events",
        "enabled",
        "disabled_reason",
        "rotated_at",
        "last_success_at",
        "failing_since",
        "created_at",
        "updated_at",
    )


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "endpoint", "message_id", "event_type", "status", "attempts", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("message_id",)
    list_select_related = ("account", "endpoint")
    exclude = ()


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("id", "message", "attempted_at", "status_code", "duration_ms", "error")
    list_select_related = ("message",)
