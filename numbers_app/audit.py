"""Writing the audit timeline. Only services call these, inside their own transaction, so an
event exists exactly when its change does."""

from django.db import IntegrityError, connections, router
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


def _assigned_model(field: str):
    return PhoneNumber._meta.get_field(field).related_model


def assignment_names(*, read: dict | None = None, share: dict | None = None, required: dict | None = None) -> dict:
    """The names of agents and trunks as they are now, {field: {id: name}}, for the ids in
    `read` and `share` (each {field: ids}): one statement, however many fields.

    Read once the numbers concerned are locked, in a statement of its own: under READ
    COMMITTED PostgreSQL re-reads only the rows a statement locks once their lock is
    granted; the rows it joins to them come from the statement's older snapshot (an agent
    renamed, or a number moved to another agent meanwhile, would be recorded as it was, or
    as null). A statement started after the lock sees everything committed before it.

    The `share` rows are also locked FOR KEY SHARE until the transaction ends: the lock an
    assignment's foreign key takes at commit anyway, taken earlier. Take it before locking
    the numbers, in the order a rename or delete takes its locks (the agent or trunk FOR
    UPDATE, then its numbers): that rename or delete then either committed first, and its
    outcome is read here, or waits for this change and then sees its numbers as they end up;
    a locked agent's name stays as read until this commits. An id of `required` (one a
    change assigns) that is gone, deleted meanwhile, raises IntegrityError, as its foreign
    key would at commit (the API answers 409)."""
    read, share = read or {}, share or {}
    connection = connections[router.db_for_write(PhoneNumber)]
    quote = connection.ops.quote_name
    lock = " FOR KEY SHARE" if connection.features.has_select_for_update else ""
    # One SELECT per (field, ids), tagged with its position; the locked ones as WITH queries
    # (PostgreSQL takes no locking clause in a UNION's inputs).
    queries = [(field, ids, True) for field, ids in share.items()] + [
        (field, ids, False) for field, ids in read.items()
    ]
    withs, selects, with_params, select_params = [], [], [], []
    for tag, (field, ids, locked) in enumerate(queries):
        ids = sorted({pk for pk in ids if pk is not None})
        if not ids:
            continue
        model = _assigned_model(field)
        columns = f"{quote(model._meta.pk.column)}, {quote(model._meta.get_field('name').column)}"
        where = f"{quote(model._meta.pk.column)} IN ({', '.join(['%s'] * len(ids))})"
        if locked:
            withs.append(f"locked{tag} AS (SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {where}{lock})")
            with_params += ids
            selects.append(f"SELECT {tag}, {columns} FROM locked{tag}")
        else:
            selects.append(f"SELECT {tag}, {columns} FROM {quote(model._meta.db_table)} WHERE {where}")
            select_params += ids
    names = {field: {} for field, _, _ in queries}
    if selects:
        sql = ("WITH " + ", ".join(withs) + " " if withs else "") + " UNION ALL ".join(selects)
        with connection.cursor() as cursor:
            cursor.execute(sql, with_params + select_params)
            for tag, pk, name in cursor.fetchall():
                names[queries[tag][0]][pk] = name
    for field, ids in (required or {}).items():
        missing = {pk for pk in ids if pk is not None} - set(names.get(field, ()))
        if missing:
            raise IntegrityError(f"{_assigned_model(field).kind_title} {min(missing)} was deleted meanwhile.")
    return names


def recorded_with_names(field: str, pk, names: dict):
    """An assignment field's value as recorded, its name from assignment_names()."""
    return None if pk is None else {"id": pk, "name": names[field][pk]}


def add_assignment_names(rows: list[dict], fields=ASSIGNMENT_FIELDS, *, share: dict | None = None) -> dict:
    """Add `<field>__name` to `rows`, dicts holding `<field>_id`: the names as they are now,
    read by assignment_names() (so: once the rows are locked), which also locks the `share`
    rows. Returns the names read."""
    names = assignment_names(read={field: {row[f"{field}_id"] for row in rows} for field in fields}, share=share)
    for row in rows:
        for field in fields:
            pk = row[f"{field}_id"]
            # The row is locked, so its agent or trunk cannot be deleted meanwhile: deleting
            # one locks its numbers first.
            row[f"{field}__name"] = None if pk is None else names[field][pk]
    return names


# A number's whole state, as recorded for its creation and its deletion.
STATE_FIELDS = ("status", "provider", *ASSIGNMENT_FIELDS)
# The columns to read it from, for numbers read as dicts (then add_assignment_names()).
STATE_VALUES = ("status", "provider", *(f"{field}_id" for field in ASSIGNMENT_FIELDS))


def number_state(number: PhoneNumber | dict) -> dict:
    """A number's whole state, recorded as the `after` of its creation and the `before` of
    its deletion. A dict must hold the STATE_VALUES columns and the names."""
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


def lock_and_record_for_numbers(*, actor: Actor, related, action: str, field: str, after) -> bool:
    """Record the same event for every number assigned to an agent or trunk (`related`) that
    is being renamed or deleted, the numbers locked until the change commits. The event's
    `before` is the agent or trunk as it is once locked (a concurrent rename may have
    renamed it since the caller read it); `after` is what it becomes (None when deleted).
    Returns False, recording nothing, when that is what it already is; raises the model's
    DoesNotExist when it was deleted meanwhile.

    The agent or trunk row is locked first. A number assigned to it by another transaction
    holds a key-share lock on the same row (see assignment_names()): so either that change
    committed first and the number is among those read here, or it waits for this change to
    commit and then sees the new name. The numbers themselves are read FOR UPDATE, so a
    number being moved elsewhere meanwhile is seen as it ends up. Read in chunks: an agent
    of 100,000 numbers is never all in memory."""
    model = type(related)
    # The locked row itself, no join: PostgreSQL re-reads it once the lock is granted.
    locked = list(model.objects.select_for_update().filter(pk=related.pk).values_list("name", flat=True))
    if not locked:
        raise model.DoesNotExist(f"{model.kind_title} {related.pk} was deleted.")
    before = {"id": related.pk, "name": locked[0]}
    if before == after:
        return False
    log = EventLog(actor)
    # In id order, as every other change locks numbers: two changes never wait for each other
    # in a cycle.
    numbers = related.numbers.select_for_update().values("id", "account_id", "number").order_by("id")
    for row in numbers.iterator(chunk_size=BATCH_SIZE):
        log.add(row, action, field, before, after)
    log.save()
    return True
