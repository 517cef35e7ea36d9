"""Periodic purges of the accounts app's short-lived rows (settings.PERIODIC_TASKS)."""

import time

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from kalem_site.rates import parse_rate

from .models import IDEMPOTENCY_RETENTION, IdempotencyRecord, RateLimitCounter


@task()
def purge_idempotency_records() -> int:
    """Records older than 24 hours: their keys may be used again."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION).delete()
    return deleted


@task()
def purge_rate_limit_counters() -> int:
    """Counters whose window has ended (every counter when the limit is off): the next
    request of such a client starts a new window anyway."""
    rate = parse_rate(settings.API_RATE_LIMIT)
    counters = RateLimitCounter.objects.all()
    if rate is not None:
        current_window = int(time.time() // rate.period * rate.period)
        counters = counters.filter(window_start__lt=current_window)
    deleted, _ = counters.delete()
    return deleted
