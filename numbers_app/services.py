"""Writes to numbers and SIP trunks. Shared by the API, the dashboard, the admin and the
commands, so that every way in keeps the same rules."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.crypto import CredentialsUnavailable
from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import save_changed_fields

from .audit import (
    ASSIGNMENT_FIELDS,
    STATE_VALUES,
    EventLog,
    add_assignment_names,
    assignment_names,
    assignment_value,
    lock_and_record_for_numbers,
    number_state,
    recorded_from_row,
    recorded_value,
)
from .models import NumberEvent, PhoneNumber, SipTrunk
from .phone import parse_e164

DUPLICATE_NUMBER_MESSAGE = "This number is already registered."

NUMBER_UPDATABLE_FIELDS = ("provider", "status", *ASSIGNMENT_FIELDS)


def _check_choices(values: dict) -> None:
    errors = {}
    if "provider" in values and values["provider"] not in PhoneNumber.Provider.values:
        errors["provider"] = "Choose manual or twilio."
    if "status" in values and values["status"] not in PhoneNumber.Status.values:
        errors["status"] = "Choose active or inactive."
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
    try:
        number = parse_e164(number)
    except ValidationError as error:
        raise ValidationError({"number": error.messages}) from None
    _check_choices({"provider": provider, "status": status})
    assignments = {"voice_agent": voice_agent, "text_agent": text_agent, "trunk": trunk}
    check_same_account(account.id, assignments)
    # The agents and trunks as they are now, locked against a rename until this commits (so
    # the event names them as they are when the number appears).
    _refresh_names(assignments, assignment_names(share=_ids(assignments), required=_ids(assignments)))
    phone_number = PhoneNumber(account=account, number=number, provider=provider, status=status, **assignments)
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
    unknown = set(changes) - set(NUMBER_UPDATABLE_FIELDS)
    if unknown:
        raise TypeError(f"number_update() got unexpected fields: {sorted(unknown)}")
    _check_choices(changes)
    check_same_account(number.account_id, changes)
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


@transaction.atomic
def trunk_create(*, account: Account, **fields) -> SipTrunk:
    unknown = set(fields) - set(TRUNK_FIELDS)
    if unknown:
        raise TypeError(f"trunk_create() got unexpected fields: {sorted(unknown)}")
    trunk = SipTrunk(account=account, **fields)
    _validate_trunk(trunk)
    trunk.save()
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
    if "name" in changes and trunk.name != before["name"]:
        lock_and_record_for_numbers(
            actor=actor, related=trunk, action=NumberEvent.Action.RENAMED, field="trunk", after=assignment_value(trunk)
        )
    save_changed_fields(trunk, [field for field in changes if getattr(trunk, field) != before[field]])
    return trunk


@transaction.atomic
def trunk_delete(*, actor: Actor, trunk: SipTrunk) -> int:
    """Delete the trunk; its numbers stay, unassigned. Returns how many were unassigned."""
    lock_and_record_for_numbers(
        actor=actor, related=trunk, action=NumberEvent.Action.UNASSIGNED, field="trunk", after=None
    )
    unassigned = trunk.numbers.update(trunk=None, updated_at=timezone.now())
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
