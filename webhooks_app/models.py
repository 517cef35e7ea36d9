"""Webhook endpoints of an account, the outbox of messages to them, and each delivery attempt
(shared/WEBHOOKS.md)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from kalem_site.accounts.models import Account
from numbers_app.models import NumberEvent

# Every event type an endpoint can subscribe to: one per audit action, plus the test message.
NUMBER_EVENT_TYPES = [f"number.{action}" for action in NumberEvent.Action.values]
TEST_EVENT_TYPE = "webhook.test"
EVENT_TYPES = [*NUMBER_EVENT_TYPES, TEST_EVENT_TYPE]

MAX_URL_LENGTH = 2000


class WebhookEndpointQuerySet(models.QuerySet):
    def for_account(self, account: Account | int) -> "WebhookEndpointQuerySet":
        return self.filter(account=account)


class WebhookEndpoint(models.Model):
    """A URL of the account's that receives its events. `events` lists the types it receives;
    an empty list means all. Its secret (and, for 24 hours after a rotation, the one before)
    is stored encrypted with CREDENTIALS_KEY."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    url = models.CharField(max_length=MAX_URL_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Health: the last 2xx, and since when every attempt has failed (the 5-day auto-disable).
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"
        indexes = [
            # The account's endpoints: the list, and the outbox's lookup of subscribers.
            models.Index(fields=["account", "id"], name="webhook_endpoint_account"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(url=""), name="webhook_endpoint_url_not_empty"),
            # A disabled endpoint says why; an enabled one has no reason.
            models.CheckConstraint(
                condition=Q(enabled=True, disabled_reason="") | Q(enabled=False),
                name="webhook_endpoint_reason_only_when_disabled",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def receives(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookMessageQuerySet(models.QuerySet):
    def for_account(self, account: Account | int) -> "WebhookMessageQuerySet":
        return self.filter(account=account)

    def newest_first(self) -> "WebhookMessageQuerySet":
        return self.order_by("-id")

    def due(self, now) -> "WebhookMessageQuerySet":
        """Pending, due, and not leased to a worker (or its lease ran out: a killed worker's)."""
        return self.filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        )


class WebhookMessage(models.Model):
    """One event for one endpoint: the outbox row, written in the transaction of the change,
    with the body as it was then. `message_id` is the `webhook-id` of every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages", db_index=False)
    message_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    # The audit event's id; null for webhook.test.
    event_id = models.BigIntegerField(null=True, blank=True)
    # The body, serialized once: every attempt sends the same bytes, keys in the contract's
    # order (a JSON column would reorder them on PostgreSQL). A number event's message is
    # written without it, and its body is built from the event and the NumberSnapshot when
    # a worker first claims it (outbox.fill_payloads): that keeps the change's transaction
    # lean, one INSERT … SELECT per batch of events.
    payload = models.TextField(null=True, blank=True)  # noqa: DJ001 (null: not built yet)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    # Attempts in all, and in the current series (a resend starts a new one).
    attempts = models.PositiveIntegerField(default=0)
    series_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # A worker's claim: nobody else sends the message until then.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook message"
        indexes = [
            # The delivery log of an endpoint, newest first (filtered by status or type).
            models.Index(fields=["endpoint", "-id"], name="webhook_message_endpoint"),
            # The workers' claim: pending messages by due time (a partial index stays small).
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_message_due",
                condition=Q(status="pending"),
            ),
            # Pruning the log after 30 days.
            models.Index(fields=["created_at"], name="webhook_message_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="webhook_message_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]), name="webhook_message_status_valid"
            ),
            # A pending message always has its next attempt scheduled.
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(next_attempt_at__isnull=False),
                name="webhook_message_pending_is_scheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.event_type}"


class WebhookOutbox(models.Model):
    """Events of one change for one endpoint, not yet made into messages: the outbox row a
    change writes in its own transaction (one per batch of up to 1,000 events and endpoint,
    whatever the number of events), which a worker turns into one WebhookMessage per event
    (outbox.expand_outbox) before delivering them. So a bulk change of 10,000 numbers writes
    ten rows here instead of 10,000 messages."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    # The ids of the events (NumberEvent), in order.
    event_ids = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook outbox entry"
        verbose_name_plural = "webhook outbox"

    def __str__(self) -> str:
        return f"{len(self.event_ids)} events for endpoint {self.endpoint_id}"


class NumberSnapshot(models.Model):
    """The Number object's columns as they stood when an event with webhook messages was
    saved, copied by the database in the change's own transaction (one INSERT … SELECT per
    batch of events), so a message's body shows the number right after its change however
    long the delivery waits. One per event, shared by all its messages; none for deletions
    (the body's number is null). The keys are those of numbers_app.shapes.NUMBER_SHAPE."""

    event_id = models.BigIntegerField(primary_key=True)
    number_id = models.BigIntegerField()
    number = models.TextField()
    provider = models.TextField()
    status = models.TextField()
    voice_agent_id = models.BigIntegerField(null=True)
    voice_agent_name = models.TextField(null=True)  # noqa: DJ001 (null: none assigned, as in the Number object)
    text_agent_id = models.BigIntegerField(null=True)
    text_agent_name = models.TextField(null=True)  # noqa: DJ001 (null: none assigned, as in the Number object)
    trunk_id = models.BigIntegerField(null=True)
    trunk_name = models.TextField(null=True)  # noqa: DJ001 (null: none assigned, as in the Number object)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "number snapshot"

    def __str__(self) -> str:
        return f"{self.number} at event {self.event_id}"


# The first bytes of a response body that the log keeps.
RESPONSE_EXCERPT_BYTES = 1024


class WebhookAttempt(models.Model):
    """One HTTP request of a message, with what came back (or why nothing did)."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempts_log", db_index=False)
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook attempt"
        indexes = [
            # A message's attempts, in order (the delivery's detail).
            models.Index(fields=["message", "id"], name="webhook_attempt_message"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status_code or self.error}"
