"""Writes to numbers and SIP trunks. Shared by the API, the dashboard, the admin and the
commands, so that every way in keeps the same rules."""

from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.crypto import CredentialsUnavailable
from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import insert_many, save_changed_fields

from .audit import (
    ASSIGNMENT_FIELDS,
    STATE_FIELDS,
    STATE_VALUES,
    EventLog,
    add_assignment_names,
    assignment_names,
    assignment_value,
    lock_and_record_for_numbers,
    number_state,
    recorded_from_row,
    recorded_value,
    recorded_with_names,
)
from .models import NumberEvent, PhoneNumber, SipTrunk
from .phone import parse_e164
from .selectors import number_bulk_targets

DUPLICATE_NUMBER_MESSAGE = "This number is already registered."

NUMBER_UPDATABLE_FIELDS = ("provider", "status", *ASSIGNMENT_FIELDS)

# What a number can be assigned to.
Assignee = VoiceAgent | TextAgent | SipTrunk


# The values a number's provider and status may take (as the database's constraints say).
NUMBER_CHOICES = {"provider": tuple(PhoneNumber.Provider.values), "status": tuple(PhoneNumber.Status.values)}


def _check_choices(values: dict) -> None:
    errors = {}
    for field, choices in NUMBER_CHOICES.items():
        if field in values and values[field] not in choices:
            errors[field] = f"Choose {' or '.join(choices)}."
    if errors:
        raise ValidationError(errors)


def check_same_account(account_id: int, assignments: dict) -> None:
    """Agents and trunks must belong to the number's account. Callers look them up in the
    account already; this keeps every other caller (admin, commands) honest too."""
    errors = {}
    for field in ASSIGNMENT_FIELDS:
        related = assignments.get(field)
        if related is not None and related.account_id != account_id:
            errors[field] = f"{related.kind_title} {related.pk} does not exist."
    if errors:
        raise ValidationError(errors)


def _clean_new_number(account: Account, values: dict) -> dict:
    """A new number's values, checked as every way of creating one checks them: the number
    in E.164 (a possible number), the choices, agents and trunks of the account."""
    try:
        number = parse_e164(values["number"])
    except ValidationError as error:
        raise ValidationError({"number": error.messages}) from None
    _check_choices(values)
    check_same_account(account.id, values)
    return {**values, "number": number}


def _check_changes(function: str, account_id: int, changes: dict) -> None:
    """The rules every change of a number's fields keeps (number_update and the batches)."""
    unknown = set(changes) - set(NUMBER_UPDATABLE_FIELDS)
    if unknown:
        raise TypeError(f"{function}() got unexpected fields: {sorted(unknown)}")
    _check_choices(changes)
    check_same_account(account_id, changes)


@transaction.atomic
def number_create(
    *,
    actor: Actor,
    account: Account,
    number: str,
    provider: str = PhoneNumber.Provider.MANUAL,
    status: str = PhoneNumber.Status.ACTIVE,
    voice_agent: VoiceAgent | None = None,
    text_agent: TextAgent | None = None,
    trunk: SipTrunk | None = None,
) -> PhoneNumber:
    assignments = {"voice_agent": voice_agent, "text_agent": text_agent, "trunk": trunk}
    values = _clean_new_number(account, {"number": number, "provider": provider, "status": status, **assignments})
    # The agents and trunks as they are now, locked against a rename until this commits (so
    # the event names them as they are when the number appears).
    _refresh_names(assignments, assignment_names(share=_ids(assignments), required=_ids(assignments)))
    phone_number = PhoneNumber(account=account, **values)
    try:
        # A savepoint, so that losing a race to the unique constraint leaves the outer
        # transaction usable.
        with transaction.atomic():
            phone_number.save()
    except IntegrityError:
        if PhoneNumber.objects.filter(number=number).exists():
            raise ValidationError({"number": DUPLICATE_NUMBER_MESSAGE}) from None
        raise
    log = EventLog(actor)
    log.add(phone_number, NumberEvent.Action.CREATED, after=number_state(phone_number))
    log.save()
    return phone_number


def _ids(assignments: dict) -> dict:
    """{field: {id}} of the agents and trunks among `assignments` (a field's None: none)."""
    return {
        field: {value.pk} for field, value in assignments.items() if field in ASSIGNMENT_FIELDS and value is not None
    }


def _refresh_names(related: dict, names: dict) -> None:
    """Give the agents and trunks in `related` ({field: object or None}) the names just read."""
    for field, obj in related.items():
        if obj is not None and obj.pk in names.get(field, {}):
            obj.name = names[field][obj.pk]


def _locked(number: PhoneNumber) -> PhoneNumber:
    """The number's row as it is now, locked until the transaction ends. Raises
    PhoneNumber.DoesNotExist if it was deleted meanwhile.

    The row alone: PostgreSQL re-reads the locked row once the lock is granted, but rows
    joined to it would come from the statement's older snapshot. What the caller had already
    read of its agents and trunks is kept where the ids still match; their names are read
    again (assignment_names()) by whoever records them."""
    try:
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    except PhoneNumber.DoesNotExist:
        raise PhoneNumber.DoesNotExist(f"Number {number.pk} was deleted.") from None
    for field in ASSIGNMENT_FIELDS:
        relation = PhoneNumber._meta.get_field(field)
        if relation.is_cached(number) and getattr(number, relation.attname) == getattr(locked, relation.attname):
            relation.set_cached_value(locked, relation.get_cached_value(number))
    return locked


def _current_value(number: PhoneNumber, field: str):
    # Compare assignments by id, so an unloaded relation costs no query.
    return getattr(number, f"{field}_id") if field in ASSIGNMENT_FIELDS else getattr(number, field)


def _comparable(value):
    return value.pk if hasattr(value, "pk") else value


@transaction.atomic
def number_update(*, actor: Actor, number: PhoneNumber, **changes) -> PhoneNumber:
    """Change any of provider, status, voice_agent, text_agent, trunk (None unassigns).
    Fields not given keep their value; giving the current value changes nothing."""
    _check_changes("number_update", number.account_id, changes)
    # The agents and trunks this may assign, and those the caller's copy has in the fields it
    # may change, locked against a rename or delete until this commits (see
    # assignment_names()): their names are then the ones to record.
    fields = [field for field in changes if field in ASSIGNMENT_FIELDS]
    share = {field: {_comparable(changes[field]), getattr(number, f"{field}_id")} for field in fields}
    names = assignment_names(share=share, required=_ids(changes)) if fields else {}
    # Compared with the row as it is now, not the caller's copy, which may be stale: the
    # events then say exactly what this change replaced.
    number = _locked(number)
    changed = [field for field, value in changes.items() if _current_value(number, field) != _comparable(value)]
    assigned = {field: changes[field] for field in changed if field in ASSIGNMENT_FIELDS}
    current = {field: getattr(number, f"{field}_id") for field in assigned}
    unread = {field: {pk} for field, pk in current.items() if pk is not None and pk not in names[field]}
    if unread:
        # Moved meanwhile to another agent or trunk than the caller's copy had: its name as it
        # is now, the number being locked.
        for field, read in assignment_names(read=unread).items():
            names[field].update(read)
    _refresh_names(assigned, names)
    log = EventLog(actor)
    for field in changed:
        if field in assigned:
            pk = current[field]
            before = None if pk is None else {"id": pk, "name": names[field][pk]}
        else:
            before = getattr(number, field)
        log.add_change(number, field, before, recorded_value(field, changes[field]))
        setattr(number, field, changes[field])
    save_changed_fields(number, changed)
    log.save()
    return number


@transaction.atomic
def number_set_status(*, actor: Actor, number: PhoneNumber, active: bool) -> PhoneNumber:
    """Activate or deactivate; doing it twice is a no-op."""
    status = PhoneNumber.Status.ACTIVE if active else PhoneNumber.Status.INACTIVE
    return number_update(actor=actor, number=number, status=status)


@transaction.atomic
def number_delete(*, actor: Actor, number: PhoneNumber) -> None:
    """Delete the number. Raises PhoneNumber.DoesNotExist if it is already gone."""
    number = _locked(number)
    row = {"id": number.pk, "account_id": number.account_id, "number": number.number}
    row.update({column: getattr(number, column) for column in STATE_VALUES})
    add_assignment_names([row])
    log = EventLog(actor)
    log.add(number, NumberEvent.Action.DELETED, before=number_state(row))
    number.delete()
    log.save()


# The batches check their rules first, then write inside their caller's transaction (the
# import's, one per batch) without a savepoint of their own: a ValidationError leaves the
# caller's transaction as it was; an error while writing rolls all of it back.
def numbers_create_many(*, actor: Actor, account: Account, numbers: list[dict]) -> dict[str, int]:
    """Create many numbers of the account at once (the CSV import): each a dict of `number`
    and any of provider, status, voice_agent, text_agent, trunk, checked as number_create
    checks them and recorded as it records them, written with one COPY or a few multi-row
    INSERTs. Returns {E.164: id}.

    A number that is already registered raises IntegrityError: the caller, which knows
    which numbers it found, plans again (number_create's savepoint per row would cost the
    batch its speed)."""
    now = timezone.now()
    rows = [
        {
            "provider": PhoneNumber.Provider.MANUAL,
            "status": PhoneNumber.Status.ACTIVE,
            **{field: None for field in ASSIGNMENT_FIELDS},
            **_clean_new_number(account, values),
        }
        for values in numbers
    ]
    with transaction.atomic(savepoint=False):
        insert_many(
            PhoneNumber,
            [
                {
                    "account_id": account.id,
                    "number": row["number"],
                    "provider": row["provider"],
                    "status": row["status"],
                    **{f"{field}_id": getattr(row[field], "pk", None) for field in ASSIGNMENT_FIELDS},
                    "created_at": now,
                    "updated_at": now,
                }
                for row in rows
            ],
        )
        # The new rows' ids, for their events: one query, as COPY returns none.
        ids = dict(
            PhoneNumber.objects.filter(account=account, number__in=[row["number"] for row in rows]).values_list(
                "number", "id"
            )
        )
        log = EventLog(actor)
        for row in rows:
            created = {"account_id": account.id, "id": ids[row["number"]], "number": row["number"]}
            state = {field: recorded_value(field, row[field]) for field in STATE_FIELDS}
            log.add(created, NumberEvent.Action.CREATED, after=state)
        log.save()
    return ids


def numbers_update_many(*, actor: Actor, account: Account, changes: dict[int, dict]) -> int:
    """Change many numbers of the account at once, each its own way (the CSV import):
    `changes` maps a number's id to fields as number_update takes them, checked and recorded
    as it checks and records them. Returns how many numbers actually changed.

    The rows are locked (in id order, so that concurrent batches queue rather than deadlock)
    and compared with their values now, as number_update does; their events are recorded in
    the order of `changes` (the file's, for the import). A number that is not the account's
    (or no longer exists) raises PhoneNumber.DoesNotExist."""
    for fields in changes.values():
        _check_changes("numbers_update_many", account.id, fields)
    with transaction.atomic(savepoint=False):
        ids = sorted(changes)
        rows = list(
            PhoneNumber.objects.for_account(account)
            .filter(pk__in=ids)
            .select_for_update(of=("self",))
            .order_by("id")
            .values("id", "account_id", "number", "status", "provider", *(f"{field}_id" for field in ASSIGNMENT_FIELDS))
        )
        if len(rows) != len(ids):
            missing = sorted(set(ids) - {row["id"] for row in rows})
            raise PhoneNumber.DoesNotExist(f"Numbers {missing} are not the account's.")
        by_id = {row["id"]: row for row in rows}
        # The names of what the numbers are assigned to now, read apart from the locking query
        # (in one, PostgreSQL could return joined values older than the locked rows).
        names = assignment_names(read={field: {row[f"{field}_id"] for row in rows} for field in ASSIGNMENT_FIELDS})
        now = timezone.now()
        log = EventLog(actor)
        updated, written = [], set()
        for pk, fields in changes.items():
            row = by_id[pk]
            number = PhoneNumber(
                id=row["id"],
                status=row["status"],
                provider=row["provider"],
                **{f"{field}_id": row[f"{field}_id"] for field in ASSIGNMENT_FIELDS},
            )
            changed = False
            for field, value in fields.items():
                current = row[f"{field}_id"] if field in ASSIGNMENT_FIELDS else row[field]
                if current == _comparable(value):
                    continue
                before = current if field not in ASSIGNMENT_FIELDS else recorded_with_names(field, current, names)
                log.add_change(row, field, before, recorded_value(field, value))
                setattr(number, field, value)
                written.add(field)
                changed = True
            if changed:
                number.updated_at = now
                updated.append(number)
        if updated:
            PhoneNumber.objects.bulk_update(updated, [*sorted(written), "updated_at"])
        log.save()
    return len(updated)


def _assigned_field(assignee: Assignee) -> str:
    """The PhoneNumber field that points to this kind of agent or trunk: voice_agent,
    text_agent or trunk."""
    return assignee.numbers.field.name


@transaction.atomic
def numbers_record_rename(*, actor: Actor, assignee: Assignee) -> None:
    """Record a rename of an agent or trunk (`assignee`, carrying its new name) on the
    timeline of every number assigned to it, from the name its locked row still has. Called
    by the rename, in its transaction, before the new name is saved; the numbers stay locked
    until it commits."""
    lock_and_record_for_numbers(
        actor=actor,
        related=assignee,
        action=NumberEvent.Action.RENAMED,
        field=_assigned_field(assignee),
        after=assignment_value(assignee),
    )


@transaction.atomic
def numbers_unassign(*, actor: Actor, assignee: Assignee) -> int:
    """Unassign every number from an agent or trunk that is about to be deleted, each with
    its event. Returns how many numbers were unassigned."""
    field = _assigned_field(assignee)
    lock_and_record_for_numbers(
        actor=actor,
        related=assignee,
        action=NumberEvent.Action.UNASSIGNED,
        field=field,
        after=None,
    )
    return assignee.numbers.update(**{field: None, "updated_at": timezone.now()})


TRUNK_FIELDS = ("name", "direction", "auth_type", "host", "port", "username", "password", "outbound_server")


def _encrypted_password(password: str) -> str:
    """Raises ValidationError (on `password`) when it is too long or cannot be encrypted."""
    holder = SipTrunk()
    holder.password = password
    return holder.password_encrypted


def _has_password(trunk: SipTrunk, password: str) -> bool:
    """Whether `password` is the trunk's current one (False when that cannot be read)."""
    try:
        return trunk.sip_password() == password
    except CredentialsUnavailable:
        return False


def _validate_trunk(trunk: SipTrunk) -> None:
    trunk.name = (trunk.name or "").strip()
    # Field rules and SipTrunk.clean()'s conditional rules; the account is set by the caller.
    trunk.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)


DUPLICATE_TRUNK_NAME_MESSAGE = f"A {SipTrunk.kind_label} with this name already exists."


def trunk_name_taken(*, account_id: int, name: str, trunk_id: int | None = None) -> bool:
    """Whether another trunk of the account has this name (for forms to say so with their
    other errors; the database's unique constraint is the rule)."""
    return SipTrunk.objects.filter(account_id=account_id, name=name.strip()).exclude(pk=trunk_id).exists()


def _check_trunk_name(trunk: SipTrunk) -> None:
    if trunk_name_taken(account_id=trunk.account_id, name=trunk.name, trunk_id=trunk.pk):
        raise ValidationError({"name": DUPLICATE_TRUNK_NAME_MESSAGE})


def _save_trunk(trunk: SipTrunk, changed: list[str] | None = None) -> None:
    """Save a new trunk, or the `changed` fields of an existing one. The per-account unique
    name rule is the database's, so that two concurrent writers cannot both win: the loser's
    IntegrityError becomes the same field error as _check_trunk_name()'s, as for agents."""
    try:
        with transaction.atomic():
            if changed is None:
                trunk.save()
            else:
                save_changed_fields(trunk, changed)
    except IntegrityError:
        if trunk_name_taken(account_id=trunk.account_id, name=trunk.name, trunk_id=trunk.pk):
            raise ValidationError({"name": DUPLICATE_TRUNK_NAME_MESSAGE}) from None
        raise


@transaction.atomic
def trunk_create(*, account: Account, **fields) -> SipTrunk:
    unknown = set(fields) - set(TRUNK_FIELDS)
    if unknown:
        raise TypeError(f"trunk_create() got unexpected fields: {sorted(unknown)}")
    trunk = SipTrunk(account=account, **fields)
    _validate_trunk(trunk)
    _check_trunk_name(trunk)
    _save_trunk(trunk)
    return trunk


@transaction.atomic
def trunk_update(*, actor: Actor, trunk: SipTrunk, **changes) -> SipTrunk:
    """Change any trunk field; the conditional rules hold for the resulting trunk."""
    unknown = set(changes) - set(TRUNK_FIELDS)
    if unknown:
        raise TypeError(f"trunk_update() got unexpected fields: {sorted(unknown)}")
    if "password" in changes:
        # Stored encrypted (a new token each time): compared in plaintext, so sending the
        # current password again changes nothing.
        password = changes.pop("password") or ""
        if not _has_password(trunk, password):
            changes["password_encrypted"] = _encrypted_password(password)
    before = {field: getattr(trunk, field) for field in changes}
    for field, value in changes.items():
        setattr(trunk, field, value)
    _validate_trunk(trunk)
    changed = [field for field in changes if getattr(trunk, field) != before[field]]
    if "name" in changed:
        _check_trunk_name(trunk)  # before the rename is recorded on the numbers' timelines
        numbers_record_rename(actor=actor, assignee=trunk)
    _save_trunk(trunk, changed)
    return trunk


@transaction.atomic
def trunk_delete(*, actor: Actor, trunk: SipTrunk) -> int:
    """Delete the trunk; its numbers stay, unassigned. Returns how many were unassigned."""
    unassigned = numbers_unassign(actor=actor, assignee=trunk)
    trunk.delete()
    return unassigned


@transaction.atomic
def number_bulk_update(*, actor: Actor, account: Account, ids: list[int], **changes) -> int:
    """Apply the same change (status, provider or an assignment) to many numbers of the
    account at once. Returns how many numbers actually changed."""
    unknown = set(changes) - set(NUMBER_UPDATABLE_FIELDS)
    if unknown or not changes:
        raise TypeError(f"number_bulk_update() needs fields of {NUMBER_UPDATABLE_FIELDS}, got {sorted(changes)}")
    _check_choices(changes)
    check_same_account(account.id, changes)
    # The rows that will change, locked, with the values they change from: the events record
    # exactly what this transaction replaced. A row whose value is already the new one is
    # left alone (no event, no new updated_at).
    columns = {field: f"{field}_id" if field in ASSIGNMENT_FIELDS else field for field in changes}
    unchanged = Q()
    for field, value in changes.items():
        value = _comparable(value)
        unchanged &= Q(**{f"{columns[field]}__isnull": True}) if value is None else Q(**{columns[field]: value})
    assigned = {field: value for field, value in changes.items() if field in ASSIGNMENT_FIELDS}
    # First the new agents and trunks, locked against a rename until this commits (before
    # the numbers, the order a rename takes its locks in); then the numbers, locked, the rows
    # alone; then, in a statement of its own, the names they change from (see
    # assignment_names()).
    _refresh_names(assigned, assignment_names(share=_ids(assigned), required=_ids(assigned)))
    rows = list(
        PhoneNumber.objects.for_account(account)
        .filter(pk__in=ids)
        .exclude(unchanged)
        .select_for_update()
        .order_by("id")
        .values("id", "account_id", "number", *columns.values())
    )
    if assigned and rows:
        add_assignment_names(rows, list(assigned))
    log = EventLog(actor)
    for row in rows:
        for field, value in changes.items():
            if _comparable(value) != row[columns[field]]:
                log.add_change(row, field, recorded_from_row(row, field), recorded_value(field, value))
    PhoneNumber.objects.filter(pk__in=[row["id"] for row in rows]).update(**changes, updated_at=timezone.now())
    log.save()
    return len(rows)


@transaction.atomic
def number_bulk_delete(*, actor: Actor, account: Account, ids: list[int]) -> int:
    """Delete many numbers of the account. Returns how many were deleted."""
    numbers = PhoneNumber.objects.for_account(account).filter(pk__in=ids)
    rows = list(numbers.select_for_update().order_by("id").values("id", "account_id", "number", *STATE_VALUES))
    if rows:
        add_assignment_names(rows)
    log = EventLog(actor)
    for row in rows:
        log.add(row, NumberEvent.Action.DELETED, before=number_state(row))
    PhoneNumber.objects.filter(pk__in=[row["id"] for row in rows]).delete()
    log.save()
    return len(rows)


# What a bulk action can do to the numbers it is given.
BULK_ACTIONS = ("activate", "deactivate", "assign", "delete")


class BulkOutcome(NamedTuple):
    # One result per item given, in order, as number_bulk_targets() describes them.
    results: list[dict]
    # How many numbers the action actually changed.
    changed: int


@transaction.atomic
def number_bulk_apply(
    *,
    actor: Actor,
    account: Account,
    action: str,
    ids: list[int] | None = None,
    numbers: list[str] | None = None,
    assignments: dict | None = None,
) -> BulkOutcome:
    """One of BULK_ACTIONS on many numbers of the account, given by `ids` or by `numbers`
    (any common formatting): the items are resolved and the found ones changed in one
    transaction. `assign` takes `assignments`, {field of ASSIGNMENT_FIELDS: agent, trunk or
    None to unassign}; the other actions take none."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"number_bulk_apply() action must be one of {BULK_ACTIONS}, got {action!r}")
    if (ids is None) == (numbers is None):
        raise TypeError("number_bulk_apply() needs either ids or numbers")
    assignments = assignments or {}
    if (action == "assign") != bool(assignments) or set(assignments) - set(ASSIGNMENT_FIELDS):
        raise TypeError(f"number_bulk_apply() got assignments {sorted(assignments)} for {action}")
    results = number_bulk_targets(account=account, numbers=numbers, ids=ids)
    found = list({item["id"] for item in results if item["result"] == "ok"})
    if action == "delete":
        changed = number_bulk_delete(actor=actor, account=account, ids=found)
    elif action == "assign":
        changed = number_bulk_update(actor=actor, account=account, ids=found, **assignments)
    else:
        status = PhoneNumber.Status.ACTIVE if action == "activate" else PhoneNumber.Status.INACTIVE
        changed = number_bulk_update(actor=actor, account=account, ids=found, status=status)
    return BulkOutcome(results, changed)
