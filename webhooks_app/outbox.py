"""The outbox: a message per event per subscribed, enabled endpoint, written in the
transaction of the change itself (shared/WEBHOOKS.md §3), so a change that commits always has
its messages and one that rolls back has none. numbers_app.audit calls these when it saves
events; the workers deliver them later (services.deliver_due_messages)."""

import os

import orjson
from django.utils import timezone

from kalem_site.db import insert_many, transaction_cache
from numbers_app.models import ASSIGNMENTS, NumberEvent, PhoneNumber
from numbers_app.shapes import NUMBER_COLUMNS, event_shape, number_shape

from .models import WebhookEndpoint, WebhookMessage

_SUBSCRIBERS = "webhooks.subscribers"
_ENQUEUED = "webhooks.enqueued"
Action = NumberEvent.Action
# Which keys of the Number object each field of an event sets.
_STATE_KEYS = {"status": "status", "provider": "provider"}
_ASSIGNMENT_KEYS = {
    "voice_agent": ("voice_agent_id", "voice_agent_name"),
    "text_agent": ("text_agent_id", "text_agent_name"),
    "trunk": ("trunk_id", "trunk_name"),
}
assert set(_ASSIGNMENT_KEYS) == set(ASSIGNMENTS)


def new_message_id() -> str:
    return new_message_ids(1)[0]


def new_message_ids(count: int) -> list[str]:
    """`msg_` + 32 random hex digits each, from one read of the system's random source (a
    uuid4 each cost more than the rest of a message)."""
    raw = os.urandom(16 * count).hex()
    return [f"msg_{raw[i : i + 32]}" for i in range(0, 32 * count, 32)]


def subscribers(account_ids: set[int]) -> dict[int, list[tuple[int, frozenset]]]:
    """The enabled endpoints of these accounts as (id, event types; empty = all), only for
    accounts that have any. One query per account per transaction: the answer is kept for
    the rest of the transaction (endpoint changes forget it)."""
    cache = transaction_cache()
    known = cache.setdefault(_SUBSCRIBERS, {}) if cache is not None else {}
    missing = account_ids - known.keys()
    if missing:
        for account_id in missing:
            known[account_id] = []
        rows = WebhookEndpoint.objects.filter(account_id__in=missing, enabled=True).order_by("id")
        for endpoint_id, account_id, events in rows.values_list("id", "account_id", "events"):
            known[account_id].append((endpoint_id, frozenset(events)))
    return {account_id: known[account_id] for account_id in account_ids if known[account_id]}


def forget_subscribers() -> None:
    """An endpoint of some account changed: look them up again in this transaction."""
    cache = transaction_cache()
    if cache is not None:
        cache.pop(_SUBSCRIBERS, None)


def enqueue_delivery(*, run_after=None) -> None:
    """Queue the delivery task (at once, or to run from `run_after`: a retry's time), once
    per transaction. Inside the transaction, not on commit: the queue is a table of the same
    database, so the task exists exactly when the messages do (a crash between a commit and
    an on_commit callback would leave them waiting for the worker's periodic sweep)."""
    from .tasks import deliver_webhooks

    cache = transaction_cache()
    if cache is not None and cache.get(_ENQUEUED):
        return
    (deliver_webhooks.using(run_after=run_after) if run_after else deliver_webhooks).enqueue()
    if cache is not None:
        cache[_ENQUEUED] = True


def _number_after(shape: dict | None, event: dict, occurred_at: str) -> dict | None:
    """The Number object right after the event. `shape` is the number as it is now in this
    transaction, which the event's own value completes: a bulk change saves its events in
    batches, some before its UPDATE, and a rename or an agent's deletion saves them before
    the agent changes."""
    action = event["action"]
    if action == Action.DELETED or shape is None:
        return None
    shape = dict(shape)
    field, after = event["field"], event["after"]
    if field in _STATE_KEYS:
        shape[_STATE_KEYS[field]] = after
    elif field in _ASSIGNMENT_KEYS:
        id_key, name_key = _ASSIGNMENT_KEYS[field]
        shape[id_key] = None if after is None else after["id"]
        shape[name_key] = None if after is None else after["name"]
    if action not in (Action.CREATED, Action.RENAMED):
        shape["updated_at"] = max(shape["updated_at"], occurred_at)
    return shape


def write_number_messages(events: list[dict], endpoints: dict[int, list[tuple[int, frozenset]]]) -> int:
    """The messages of these saved events (each with its `id`) for `endpoints` (from
    subscribers()), in bulk; the delivery task is queued if there are any. Returns how many."""
    number_ids = {event["number_id"] for event in events if event["action"] != Action.DELETED}
    numbers = {}
    if number_ids:
        rows = PhoneNumber.objects.filter(pk__in=number_ids).values(*NUMBER_COLUMNS)
        numbers = {row["id"]: number_shape(row) for row in rows}
    now = timezone.now()
    messages = []
    for event in events:
        account_endpoints = endpoints.get(event["account_id"])
        if not account_endpoints:
            continue
        event_type = f"number.{event['action']}"
        targets = [endpoint_id for endpoint_id, types in account_endpoints if not types or event_type in types]
        if not targets:
            continue
        data = event_shape(event)
        payload = orjson.dumps(
            {
                "type": event_type,
                "timestamp": data["occurred_at"],
                "data": {
                    "event": data,
                    "number": _number_after(numbers.get(event["number_id"]), event, data["occurred_at"]),
                },
            }
        ).decode()
        for endpoint_id, message_id in zip(targets, new_message_ids(len(targets)), strict=True):
            messages.append(
                {
                    "account_id": event["account_id"],
                    "endpoint_id": endpoint_id,
                    "message_id": message_id,
                    "event_type": event_type,
                    "event_id": event["id"],
                    "payload": payload,
                    "status": WebhookMessage.Status.PENDING,
                    "attempts": 0,
                    "series_attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if messages:
        insert_many(WebhookMessage, messages)
        enqueue_delivery()
    return len(messages)
