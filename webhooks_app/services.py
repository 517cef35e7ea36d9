"""Writes to webhook endpoints and messages, and their delivery. Shared by the API, the
dashboard, the admin and the commands (shared/WEBHOOKS.md)."""

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kalem_site.accounts import crypto
from kalem_site.accounts.models import Account
from kalem_site.db import insert_many, save_changed_fields
from kalem_site.timestamps import format_timestamp

from . import outbox, ssrf
from .delivery import Outcome, Sender
from .models import EVENT_TYPES, TEST_EVENT_TYPE, WebhookAttempt, WebhookEndpoint, WebhookMessage
from .signing import new_secret, signing_secrets

MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 200
# Without any success for this long, an endpoint is disabled.
FAILING_DISABLE_AFTER = timedelta(days=5)
# The delivery log is kept this long.
LOG_RETENTION = timedelta(days=30)
GONE_REASON = "The endpoint answered 410 Gone."
FAILING_REASON = "Every delivery failed for 5 days."
# Attempts sent at once by one worker: a whole default batch.
SEND_THREADS = 50

Status = WebhookMessage.Status


def _clean_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": "Enter the URL."})
    try:
        ssrf.resolve(url)
    except ssrf.UnsafeURL as error:
        raise ValidationError({"url": str(error)}) from None
    return url


def _clean_events(events) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise ValidationError({"events": "Give a list of event types."})
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValidationError({"events": f"Unknown event types: {', '.join(unknown)}."})
    return list(dict.fromkeys(events))


def _clean_description(description) -> str:
    if not isinstance(description, str):
        raise ValidationError({"description": "Enter text."})
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": f"At most {MAX_DESCRIPTION} characters."})
    return description


KEY_MISSING_MESSAGE = "This server cannot store webhook secrets: set CREDENTIALS_KEY in its environment (see README)."


def _encrypt(secret: str) -> str:
    try:
        return crypto.encrypt(secret)
    except crypto.CredentialsUnavailable:
        raise ValidationError(KEY_MISSING_MESSAGE) from None


@transaction.atomic
def endpoint_create(
    *, account: Account, url: str, description: str = "", events: list[str] | None = None, enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint, and its secret in plain text: shown once, stored only encrypted."""
    url = _clean_url(url)
    events = _clean_events(events or [])
    description = _clean_description(description)
    # The account's row locked, so two creates at once cannot both be the 20th.
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk"))
    if WebhookEndpoint.objects.for_account(account).count() >= MAX_ENDPOINTS:
        raise ValidationError({"url": f"An account can have at most {MAX_ENDPOINTS} webhook endpoints."})
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        account=account,
        url=url,
        description=description,
        events=events,
        enabled=bool(enabled),
        secret_encrypted=_encrypt(secret),
    )
    outbox.forget_subscribers()
    return endpoint, secret


ENDPOINT_UPDATABLE_FIELDS = ("url", "description", "events", "enabled")


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change any of url, description, events, enabled. Disabling drops the pending messages
    (marked failed: resend replays them); enabling clears the reason and replays nothing."""
    unknown = set(changes) - set(ENDPOINT_UPDATABLE_FIELDS)
    if unknown:
        raise TypeError(f"endpoint_update() got unexpected fields: {sorted(unknown)}")
    if "url" in changes:
        changes["url"] = _clean_url(changes["url"])
    if "events" in changes:
        changes["events"] = _clean_events(changes["events"])
    if "description" in changes:
        changes["description"] = _clean_description(changes["description"])
    changed = [field for field, value in changes.items() if getattr(endpoint, field) != value]
    for field in changed:
        setattr(endpoint, field, changes[field])
    if "enabled" in changed:
        if endpoint.enabled:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
            changed += ["disabled_reason", "failing_since"]
        else:
            _drop_pending(endpoint.pk)
    save_changed_fields(endpoint, changed)
    outbox.forget_subscribers()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint, its pending messages and its delivery log."""
    WebhookAttempt.objects.filter(message__endpoint=endpoint).delete()
    WebhookMessage.objects.filter(endpoint=endpoint).delete()
    endpoint.delete()
    outbox.forget_subscribers()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret (returned once, in plain text); the current one keeps signing for 24 hours
    beside it."""
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.secret_encrypted = _encrypt(secret)
    endpoint.rotated_at = timezone.now()
    save_changed_fields(endpoint, ["previous_secret_encrypted", "secret_encrypted", "rotated_at"])
    return secret


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise ValidationError({"enabled": "The endpoint is disabled: enable it first."})


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookMessage:
    """One `webhook.test` message to the endpoint, delivered by the workers."""
    _require_enabled(endpoint)
    now = timezone.now()
    message = WebhookMessage.objects.create(
        account_id=endpoint.account_id,
        endpoint=endpoint,
        message_id=outbox.new_message_id(),
        event_type=TEST_EVENT_TYPE,
        event_id=None,
        payload=orjson.dumps(
            {
                "type": TEST_EVENT_TYPE,
                "timestamp": format_timestamp(now),
                "data": {"endpoint_id": endpoint.pk, "message": "A test message from kalem."},
            }
        ).decode(),
        next_attempt_at=outbox.first_attempt_at(now),
        created_at=now,
    )
    outbox.enqueue_delivery(run_after=message.next_attempt_at)
    return message


@transaction.atomic
def message_resend(*, message: WebhookMessage) -> WebhookMessage:
    """A new attempt series for the same message (same webhook-id), starting after the
    schedule's first delay (at once by default)."""
    endpoint = WebhookEndpoint.objects.get(pk=message.endpoint_id)
    _require_enabled(endpoint)
    message.status = Status.PENDING
    message.series_attempts = 0
    message.next_attempt_at = outbox.first_attempt_at(timezone.now())
    message.locked_until = None
    message.delivered_at = None
    updated = WebhookMessage.objects.filter(pk=message.pk).update(
        status=message.status,
        series_attempts=0,
        next_attempt_at=message.next_attempt_at,
        locked_until=None,
        delivered_at=None,
    )
    if not updated:
        raise WebhookMessage.DoesNotExist(f"Message {message.pk} was deleted.")
    outbox.enqueue_delivery(run_after=message.next_attempt_at)
    return message


def _drop_pending(endpoint_id: int) -> None:
    """A disabled endpoint receives nothing: its pending messages end failed."""
    WebhookMessage.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING).update(
        status=Status.FAILED, next_attempt_at=None, locked_until=None
    )


def _disable(endpoint_id: int, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
        enabled=False, disabled_reason=reason, updated_at=timezone.now()
    )
    _drop_pending(endpoint_id)


def lease_seconds(batch: int) -> float:
    """How long a claimed batch is a worker's: its attempts run SEND_THREADS at a time, each
    bounded by the timeout (the host's DNS lookup aside), with room for that and a margin. A killed worker's messages
    are sent again after it."""
    rounds = math.ceil(batch / SEND_THREADS)
    return rounds * 2 * settings.WEBHOOK_TIMEOUT + 10


def _claim(limit: int) -> tuple[list[WebhookMessage], object]:
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds(limit))
    with transaction.atomic():
        due = (
            WebhookMessage.objects.due(now)
            .filter(endpoint__enabled=True)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
        )
        ids = list(due.values_list("id", flat=True)[:limit])
        if not ids:
            return [], until
        WebhookMessage.objects.filter(pk__in=ids).update(locked_until=until)
    messages = list(WebhookMessage.objects.filter(pk__in=ids, locked_until=until).select_related("endpoint"))
    outbox.fill_payloads(messages)
    return messages, until


_SENDER: Sender | None = None


def _sender() -> Sender:
    """One Sender per worker process, so connections to an endpoint are kept between batches
    (a TLS set-up per batch would cost more than the batch's requests)."""
    global _SENDER
    if _SENDER is None:
        _SENDER = Sender()
    return _SENDER


def _send_all(messages: list[WebhookMessage]) -> list[Outcome]:
    now = timezone.now()
    jobs = []
    for message in messages:
        try:
            secrets = signing_secrets(message.endpoint, now)
        except crypto.CredentialsUnavailable as error:
            jobs.append((message, None, str(error)))
            continue
        jobs.append((message, secrets, ""))
    sender = _sender()
    try:

        def send(job) -> Outcome:
            message, secrets, error = job
            if secrets is None:
                return Outcome(None, error[:300], "", 0, None)
            if message.payload is None:
                return Outcome(None, "The event of this message no longer exists.", "", 0, None)
            return sender.send(
                url=message.endpoint.url, message_id=message.message_id, body=message.payload, secrets=secrets
            )

        if len(jobs) == 1:
            return [send(jobs[0])]
        with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(jobs))) as pool:
            return list(pool.map(send, jobs))
    finally:
        sender.trim()


def _record(messages: list[WebhookMessage], outcomes: list[Outcome], until) -> None:
    """Each attempt in the log, and what follows from it: delivered, the next attempt of the
    schedule (later still after a Retry-After), failed after the last, the endpoint disabled
    on a 410 or after 5 days without a success."""
    delays = settings.WEBHOOK_RETRY_DELAYS
    now = timezone.now()
    with transaction.atomic():
        # Still there (not deleted with its endpoint meanwhile), and still this worker's.
        present = dict(
            WebhookMessage.objects.select_for_update()
            .filter(pk__in=[message.pk for message in messages])
            .values_list("id", "locked_until")
        )
        attempts = []
        retries = []
        delivered: dict[int, list[int]] = {}
        succeeded, failed, gone = set(), set(), set()
        for message, result in zip(messages, outcomes, strict=True):
            if message.pk not in present:
                continue
            attempts.append(
                {
                    "message_id": message.pk,
                    "attempted_at": now - timedelta(milliseconds=result.duration_ms),
                    "status_code": result.status_code,
                    "duration_ms": result.duration_ms,
                    "error": result.error,
                    "response_excerpt": result.response_excerpt,
                }
            )
            if present[message.pk] != until:
                continue  # the lease ran out and another worker has it now
            if result.succeeded:
                delivered.setdefault(result.status_code, []).append(message.pk)
                succeeded.add(message.endpoint_id)
                continue
            failed.add(message.endpoint_id)
            series = message.series_attempts + 1
            if result.status_code == 410:
                gone.add(message.endpoint_id)
            changes = {
                "attempts": message.attempts + 1,
                "series_attempts": series,
                "last_status_code": result.status_code,
                "locked_until": None,
            }
            if result.status_code == 410 or series >= len(delays):
                changes.update(status=Status.FAILED, next_attempt_at=None)
            else:
                # A Retry-After is honoured up to the 5 days after which the endpoint is disabled.
                retry_after = min(result.retry_after or 0, FAILING_DISABLE_AFTER.total_seconds())
                wait = max(delays[series], retry_after)
                changes.update(next_attempt_at=now + timedelta(seconds=wait))
                retries.append(changes["next_attempt_at"])
            WebhookMessage.objects.filter(pk=message.pk).update(**changes)
        insert_many(WebhookAttempt, attempts)
        if retries:
            # The next attempt is a delivery run queued for when the earliest falls due (one
            # run takes every message due by then), in this transaction like the messages'.
            outbox.enqueue_delivery(run_after=min(retries))
        for status_code, ids in delivered.items():
            WebhookMessage.objects.filter(pk__in=ids).update(
                status=Status.DELIVERED,
                attempts=F("attempts") + 1,
                series_attempts=F("series_attempts") + 1,
                last_status_code=status_code,
                next_attempt_at=None,
                locked_until=None,
                delivered_at=now,
            )
        if succeeded:
            WebhookEndpoint.objects.filter(pk__in=succeeded).update(last_success_at=now, failing_since=None)
        only_failed = failed - succeeded
        if only_failed:
            WebhookEndpoint.objects.filter(pk__in=only_failed, failing_since__isnull=True).update(failing_since=now)
            for endpoint_id in WebhookEndpoint.objects.filter(
                pk__in=only_failed - gone, enabled=True, failing_since__lte=now - FAILING_DISABLE_AFTER
            ).values_list("pk", flat=True):
                _disable(endpoint_id, FAILING_REASON)
        for endpoint_id in gone:
            _disable(endpoint_id, GONE_REASON)
        if gone or only_failed:
            outbox.forget_subscribers()


def deliver_due_messages(*, limit: int = 50) -> int:
    """Claim up to `limit` due messages (pending, due, not leased: on PostgreSQL with FOR
    UPDATE SKIP LOCKED, so workers never wait for each other), send them at once, record the
    attempts; outbox rows are made into messages first (outbox.expand_outbox). Returns how
    many messages it claimed plus outbox rows it expanded (0: nothing was left to do)."""
    expanded = outbox.expand_outbox()
    messages, until = _claim(limit)
    if messages:
        _record(messages, _send_all(messages), until)
    return expanded + len(messages)


def prune_delivery_log() -> int:
    """Forget messages (and their attempts) older than 30 days that are no longer pending;
    once none is left to forget, the snapshots no message needs."""
    cutoff = timezone.now() - LOG_RETENTION
    old = WebhookMessage.objects.filter(created_at__lt=cutoff).exclude(status=Status.PENDING)
    ids = list(old.values_list("pk", flat=True)[:10000])
    if not ids:
        outbox.prune_snapshots()
        return 0
    with transaction.atomic():
        WebhookAttempt.objects.filter(message_id__in=ids).delete()
        WebhookMessage.objects.filter(pk__in=ids).delete()
    return len(ids)
