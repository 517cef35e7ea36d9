"""The outbox: a message per event per subscribed, enabled endpoint, written in the
transaction of the change itself (shared/WEBHOOKS.md §3), so a change that commits always has
its messages and one that rolls back has none. numbers_app.audit calls these when it saves
events; the workers deliver them later (services.deliver_due_messages)."""

import os
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Min
from django.utils import timezone

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.db import transaction_cache
from numbers_app.models import ASSIGNMENTS, NumberEvent, PhoneNumber, SipTrunk
from numbers_app.shapes import EVENT_COLUMNS, NUMBER_SHAPE, event_shape, number_shape

from .models import NumberSnapshot, WebhookEndpoint, WebhookMessage, WebhookOutbox

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
    """`msg_` + 32 random hex digits (the database makes those of number events the same way)."""
    return f"msg_{os.urandom(16).hex()}"


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


def first_attempt_at(now):
    """When a message's attempt series starts: the schedule's first delay after `now` (by
    default 0, at once)."""
    return now + timedelta(seconds=settings.WEBHOOK_RETRY_DELAYS[0])


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


# The snapshot's column for each key of the Number object (the number's id is `number_id`
# there: the snapshot's own key is the event's id).
_SNAPSHOT_COLUMNS = {key: "number_id" if key == "id" else key for key, _ in NUMBER_SHAPE}
# The Number object's columns in the numbers' table and its joins, by key of NUMBER_SHAPE.
_NUMBER_SQL = {
    "voice_agent_name": "v.name",
    "text_agent_name": "t.name",
    "trunk_name": "s.name",
}


def _id_in(column: str, vendor: str, ids: list[int]) -> tuple[str, list]:
    """`column` is one of `ids`: on PostgreSQL one array parameter (a thousand placeholders
    cost more to bind than the query to run), on SQLite a list of them."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def _random_message_id_sql(vendor: str) -> str:
    """A new message id per row, made by the database: `msg_` + 32 hex digits from its strong
    random source (PostgreSQL's gen_random_uuid(), SQLite's randomblob())."""
    if vendor == "postgresql":
        return "'msg_' || md5(gen_random_uuid()::text)"
    return "'msg_' || lower(hex(randomblob(16)))"


def write_number_messages(events: list[dict], endpoints: dict[int, list[tuple[int, frozenset]]]) -> int:
    """The messages of these saved events (each with its `id`) for `endpoints` (from
    subscribers()), in this transaction: one INSERT … SELECT of the changed numbers'
    snapshots, made by the database, and one outbox row per endpoint listing the events;
    a worker makes them into messages (expand_outbox) and builds their bodies when it first
    claims them (fill_payloads). The delivery task is queued if there are any. Returns how
    many messages the events make."""
    by_endpoint: dict[int, list[int]] = {}
    snapshot_ids: list[int] = []
    account_of: dict[int, int] = {}
    for event in events:
        account_endpoints = endpoints.get(event["account_id"])
        if not account_endpoints:
            continue
        event_type = f"number.{event['action']}"
        targeted = False
        for endpoint_id, types in account_endpoints:
            if not types or event_type in types:
                by_endpoint.setdefault(endpoint_id, []).append(event["id"])
                account_of[endpoint_id] = event["account_id"]
                targeted = True
        if targeted and event["action"] != Action.DELETED:
            snapshot_ids.append(event["id"])
    if not by_endpoint:
        return 0
    if snapshot_ids:
        connection = connections[router.db_for_write(NumberSnapshot)]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column) for column in _SNAPSHOT_COLUMNS.values())
        values = ", ".join(_NUMBER_SQL.get(key, f"n.{quote(key)}") for key in _SNAPSHOT_COLUMNS)
        where, params = _id_in("e.id", connection.vendor, snapshot_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(NumberSnapshot._meta.db_table)} ({quote('event_id')}, {columns}) "
                f"SELECT e.id, {values} FROM {quote(NumberEvent._meta.db_table)} e "
                f"JOIN {quote(PhoneNumber._meta.db_table)} n ON n.id = e.number_id "
                f"LEFT JOIN {quote(VoiceAgent._meta.db_table)} v ON v.id = n.voice_agent_id "
                f"LEFT JOIN {quote(TextAgent._meta.db_table)} t ON t.id = n.text_agent_id "
                f"LEFT JOIN {quote(SipTrunk._meta.db_table)} s ON s.id = n.trunk_id "
                f"WHERE {where}",
                params,
            )
    WebhookOutbox.objects.bulk_create(
        WebhookOutbox(account_id=account_of[endpoint_id], endpoint_id=endpoint_id, event_ids=event_ids)
        for endpoint_id, event_ids in by_endpoint.items()
    )
    enqueue_delivery()
    return sum(len(event_ids) for event_ids in by_endpoint.values())


def expand_outbox(*, limit: int = 5) -> int:
    """Make up to `limit` outbox rows into their messages, one per event (the database makes
    them, with their ids, in one INSERT … SELECT per row) and delete them, in one
    transaction: a worker killed meanwhile leaves them for the next. Rows locked by another
    worker are skipped (PostgreSQL). The messages of a disabled endpoint are made failed: it
    receives nothing. Returns how many rows it expanded."""
    connection = connections[router.db_for_write(WebhookMessage)]
    quote = connection.ops.quote_name
    with transaction.atomic():
        rows = list(
            WebhookOutbox.objects.select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values("id", "account_id", "endpoint_id", "endpoint__enabled", "event_ids")[:limit]
        )
        if not rows:
            return 0
        created = timezone.now()
        first = first_attempt_at(created)
        if first > created and any(row["endpoint__enabled"] for row in rows):
            # A run for when they fall due (at once, the run expanding them claims them next).
            enqueue_delivery(run_after=first)
        now = connection.ops.adapt_datetimefield_value(created)
        first = connection.ops.adapt_datetimefield_value(first)
        with connection.cursor() as cursor:
            for row in rows:
                pending = row["endpoint__enabled"]
                status = WebhookMessage.Status.PENDING if pending else WebhookMessage.Status.FAILED
                where, params = _id_in("e.id", connection.vendor, row["event_ids"])
                cursor.execute(
                    f"INSERT INTO {quote(WebhookMessage._meta.db_table)} "
                    "(account_id, endpoint_id, message_id, event_type, event_id, status, attempts, "
                    "series_attempts, next_attempt_at, created_at) "
                    f"SELECT e.account_id, %s, {_random_message_id_sql(connection.vendor)}, 'number.' || e.action, "
                    f"e.id, %s, 0, 0, %s, %s FROM {quote(NumberEvent._meta.db_table)} e "
                    f"WHERE {where} ORDER BY e.id",
                    [row["endpoint_id"], status, first if pending else None, now, *params],
                )
        WebhookOutbox.objects.filter(pk__in=[row["id"] for row in rows]).delete()
    return len(rows)


def fill_payloads(messages: list[WebhookMessage]) -> None:
    """The body of each number event's message that has none yet (claimed for its first
    attempt): its event and the Number object as it stood right after it, from the event
    and its snapshot; saved, so every later attempt sends the same bytes. Two reads and one
    UPDATE per batch. A message whose event is gone (its account deleted meanwhile) keeps
    no body and is sent none: the caller fails it."""
    empty = [message for message in messages if message.payload is None and message.event_id is not None]
    if not empty:
        return
    event_ids = {message.event_id for message in empty}
    events = {row["id"]: row for row in NumberEvent.objects.filter(pk__in=event_ids).values(*EVENT_COLUMNS)}
    snapshots = {
        row["event_id"]: number_shape({lookup: row[_SNAPSHOT_COLUMNS[key]] for key, lookup in NUMBER_SHAPE})
        for row in NumberSnapshot.objects.filter(pk__in=event_ids).values("event_id", *_SNAPSHOT_COLUMNS.values())
    }
    bodies = {}
    for event_id, event in events.items():
        data = event_shape(event)
        bodies[event_id] = orjson.dumps(
            {
                "type": f"number.{event['action']}",
                "timestamp": data["occurred_at"],
                "data": {
                    "event": data,
                    "number": _number_after(snapshots.get(event_id), event, data["occurred_at"]),
                },
            }
        ).decode()
    filled = []
    for message in empty:
        if message.event_id in bodies:
            message.payload = bodies[message.event_id]
            filled.append(message)
    if filled:
        WebhookMessage.objects.bulk_update(filled, ["payload"])


def prune_snapshots() -> int:
    """Forget the snapshots no message needs any more: those of events older than the oldest
    number event any message still refers to (messages of one event are written together).
    Not while outbox rows wait to be made into messages: theirs may be older still."""
    if WebhookOutbox.objects.exists():
        return 0
    oldest = WebhookMessage.objects.filter(event_id__isnull=False).aggregate(oldest=Min("event_id"))["oldest"]
    if oldest is None:
        return 0
    deleted, _ = NumberSnapshot.objects.filter(event_id__lt=oldest).delete()
    return deleted
