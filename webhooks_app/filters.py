"""Filters of the delivery log, shared by the API and the dashboard."""

import django_filters

from .models import EVENT_TYPES, WebhookMessage


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=WebhookMessage.Status.choices, help_text="pending, delivered or failed."
    )
    event_type = django_filters.ChoiceFilter(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES], help_text="e.g. number.assigned"
    )

    class Meta:
        model = WebhookMessage
        fields = ["status", "event_type"]
