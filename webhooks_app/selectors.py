"""Reads of webhook endpoints and their delivery log."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from kalem_site.accounts.models import Account

from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage


def endpoints_with_health(*, account: Account) -> QuerySet:
    """The account's endpoints, each with `recent_failures`: its failed attempts of the last
    24 hours (last success and disabled reason are its own columns)."""
    since = timezone.now() - timedelta(hours=24)
    failed = Q(messages__attempts_log__attempted_at__gte=since) & ~Q(
        messages__attempts_log__status_code__gte=200, messages__attempts_log__status_code__lt=300
    )
    return (
        WebhookEndpoint.objects.for_account(account)
        .annotate(recent_failures=Count("messages__attempts_log", filter=failed))
        .order_by("id")
    )


def deliveries(*, endpoint: WebhookEndpoint) -> QuerySet:
    """An endpoint's delivery log, newest first."""
    return WebhookMessage.objects.filter(endpoint=endpoint).newest_first()


def delivery_attempts(*, message: WebhookMessage) -> QuerySet:
    return WebhookAttempt.objects.filter(message=message).order_by("id")
