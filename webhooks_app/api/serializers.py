from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kalem_site.api.fields import StrictCharField, TimestampField
from kalem_site.timestamps import format_timestamp

from ..models import EVENT_TYPES, MAX_URL_LENGTH, WebhookMessage
from ..services import MAX_DESCRIPTION


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, and nothing else ("yes", 1 and "true" are refused)."""

    default_error_messages = {"invalid": "Enter true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
class NullableTimestampField(TimestampField):
    def to_representation(self, value):
        return None if value is None else format_timestamp(value)


class WebhookSerializer(serializers.Serializer):
    """The Webhook endpoint object. `events: []` means every event type."""

    id = serializers.IntegerField(read_only=True)
    url = StrictCharField(
        max_length=MAX_URL_LENGTH, trim_whitespace=False, help_text="https:// only; a public host; no credentials."
    )
    description = StrictCharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        max_length=len(EVENT_TYPES),
        help_text="The event types it receives; [] means all.",
    )
    enabled = StrictBooleanField(required=False)
    disabled_reason = serializers.CharField(read_only=True, allow_null=True)
    created_at = TimestampField()
    updated_at = TimestampField()

    def to_representation(self, endpoint) -> dict:
        return {
            "id": endpoint.pk,
            "url": endpoint.url,
            "description": endpoint.description,
            "events": list(endpoint.events),
            "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason or None,
            "created_at": format_timestamp(endpoint.created_at),
            "updated_at": format_timestamp(endpoint.updated_at),
        }


class WebhookWithSecretSerializer(WebhookSerializer):
    """The Webhook object with its secret: only in the responses of create and rotate-secret."""

    secret = serializers.CharField(read_only=True, help_text="whsec_… (Standard Webhooks); never shown again.")

    def to_representation(self, endpoint) -> dict:
        return {**super().to_representation(endpoint), "secret": self.context["secret"]}


class AcceptedSerializer(serializers.Serializer):
    """A message was queued for delivery."""

    message_id = serializers.CharField(help_text="The webhook-id of the message.")
    status = serializers.ChoiceField(choices=WebhookMessage.Status.choices)


class AttemptSerializer(serializers.Serializer):
    attempted_at = TimestampField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text="Why no answer came (timeout, refused…).")
    response_excerpt = serializers.CharField(help_text="The first 1 KiB of the response body, as text.")

    def to_representation(self, attempt) -> dict:
        return {
            "attempted_at": format_timestamp(attempt.attempted_at),
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error or None,
            "response_excerpt": attempt.response_excerpt,
        }


class DeliverySerializer(serializers.Serializer):
    """One message to the endpoint and where its delivery stands."""

    id = serializers.IntegerField()
    message_id = serializers.CharField(help_text="The webhook-id header of every attempt.")
    event_type = serializers.ChoiceField(choices=EVENT_TYPES)
    event_id = serializers.IntegerField(allow_null=True, help_text="The audit event's id; null for webhook.test.")
    status = serializers.ChoiceField(choices=WebhookMessage.Status.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    next_attempt_at = NullableTimestampField()
    created_at = TimestampField()
    delivered_at = NullableTimestampField()

    def to_representation(self, message) -> dict:
        return {
            "id": message.pk,
            "message_id": message.message_id,
            "event_type": message.event_type,
            "event_id": message.event_id,
            "status": message.status,
            "attempts": message.attempts,
            "last_status_code": message.last_status_code,
            "next_attempt_at": None if message.next_attempt_at is None else format_timestamp(message.next_attempt_at),
            "created_at": format_timestamp(message.created_at),
            "delivered_at": None if message.delivered_at is None else format_timestamp(message.delivered_at),
        }


class DeliveryDetailSerializer(DeliverySerializer):
    attempts_log = AttemptSerializer(many=True)

    def to_representation(self, message) -> dict:
        return {
            **super().to_representation(message),
            "attempts_log": [AttemptSerializer().to_representation(attempt) for attempt in self.context["attempts"]],
        }
