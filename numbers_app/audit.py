"""Writing the audit timeline. Only services call these, inside their own transaction, so an
event exists exactly when its change does."""

from django.utils import timezone

from kalem_site.actors import Actor
from kalem_site.db import insert_many, reserve_ids
from webhooks_app import outbox

from .models import ASSIGNMENTS, NumberEvent, PhoneNumber

Action = NumberEvent.Action
ASSIGNMENT_FIELDS = tuple(ASSIGNMENTS)
BATCH_SIZE = 1000


def assignment_value(related) -> dict | None:
    """How an agent or trunk is recorded: its id and its name at the time."""
    return None if related is None else {"id": related.pk, "name": related.name}


def recorded_value(field: str, value):
    """A field's value as the timeline records it: a status or provider as it is, an agent or
    trunk (or None) as assignment_value()."""
    return assignment_value(value) if field in ASSIGNMENT_FIELDS else value


def recorded_from_row(row: dict, field: str):
    """The same, from a `.values()` row holding `field`, or for an assignment `<field>_id`
    and `<field>__name`."""
    if field not in ASSIGNMENT_FIELDS:
        return row[field]
    pk = row[f"{field}_id"]
    return None if pk is None else {"id": pk, "name": row[f"{field}__name"]}


# A number's whole state, as recorded for its creation and its deletion.
STATE_FIELDS = ("status", "provider", *ASSIGNMENT_FIELDS)
# The columns to read it from, for numbers read as dicts.
STATE_VALUES = (
    "status",
    "provider",
    *(column for field in ASSIGNMENT_FIELDS for column in (f"{field}_id", f"{field}__name")),
)


def number_state(number: PhoneNumber | dict) -> dict:
    """A number's whole state, recorded as the `after` of its creation and the `before` of
    its deletion. A dict must hold the STATE_VALUES columns."""
    if isinstance(number, dict):
        return {field: recorded_from_row(number, field) for field in STATE_FIELDS}
    return {field: recorded_value(field, getattr(number, field)) for field in STATE_FIELDS}


def change_action(field: str, after) -> str:
    if field == "status":
        return Action.ACTIVATED if after == PhoneNumber.Status.ACTIVE else Action.DEACTIVATED
    if field == "provider":
        return Action.PROVIDER_CHANGED
    return Action.ASSIGNED if after is not None else Action.UNASSIGNED


class EventLog:
    """The events of one change: each stamped with the same actor and moment, then written
    with one statement per batch."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.occurred_at = timezone.now()
        self.events: list[dict] = []

    def add(self, number: PhoneNumber | dict, action: str, field: str = "", before=None, after=None) -> None:
        """An event of `number`: a PhoneNumber, or a dict of its id, account_id and number."""
        if isinstance(number, dict):
            account_id, number_id, e164 = number["account_id"], number["id"], number["number"]
        else:
            account_id, number_id, e164 = number.account_id, number.pk, number.number
        self.events.append(
            {
                "account_id": account_id,
                "number_id": number_id,
                "number": e164,
                "action": action,
                "field": field,
                "before": before,
                "after": after,
                "actor_type": self.actor.type,
                "actor_name": self.actor.name,
                "channel": self.actor.channel,
                "occurred_at": self.occurred_at,
            }
        )
        if len(self.events) >= BATCH_SIZE:
            self.save()

    def add_change(self, number: PhoneNumber | dict, field: str, before, after) -> None:
        """A field of a number going from `before` to `after` (values as recorded)."""
        self.add(number, change_action(field, after), field, before, after)

    def save(self) -> None:
        """Write the events, and in the same transaction their webhook messages (the outbox)
        if the account has endpoints: those need the events' ids, so they are reserved first."""
        if not self.events:
            return
        endpoints = outbox.subscribers({event["account_id"] for event in self.events})
        if endpoints:
            for event, event_id in zip(self.events, reserve_ids(NumberEvent, len(self.events)), strict=True):
                event["id"] = event_id
        insert_many(NumberEvent, self.events)
        if endpoints:
            outbox.write_number_messages(self.events, endpoints)
        self.events = []


def lock_and_record_for_numbers(*, actor: Actor, related, action: str, field: str, before, after) -> None:
    """Record the same event for every number assigned to an agent or trunk (`related`) that
    is being renamed or deleted, the numbers locked until the change commits.

    The agent or trunk row is locked first. A number assigned to it by another transaction
    has its foreign key checked at that transaction's commit, which takes a key-share lock
    on the same row: so either that commit came first and the number is among those read
    here, or it waits for this change to commit. The numbers themselves are read FOR UPDATE,
    so a number being moved elsewhere meanwhile is seen as it ends up. Read in chunks: an
    agent of 100,000 numbers is never all in memory."""
    list(type(related).objects.select_for_update().filter(pk=related.pk).values_list("pk"))
    log = EventLog(actor)
    numbers = related.numbers.select_for_update().values("id", "account_id", "number").order_by()
    for row in numbers.iterator(chunk_size=BATCH_SIZE):
        log.add(row, action, field, before, after)
    log.save()
