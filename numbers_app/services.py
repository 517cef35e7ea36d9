"""Writes to numbers and SIP trunks. Shared by the API, the dashboard, the admin and the
commands, so that every way in keeps the same rules."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import save_changed_fields

from .audit import (
    ASSIGNMENT_FIELDS,
    STATE_VALUES,
    EventLog,
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

# What a number can be assigned to.
Assignee = VoiceAgent | TextAgent | SipTrunk


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


def _locked(number: PhoneNumber) -> PhoneNumber:
    """The number's row as it is now, with its assignments, locked until the transaction
    ends. Raises PhoneNumber.DoesNotExist if it was deleted meanwhile."""
    try:
        return PhoneNumber.objects.select_for_update(of=("self",)).select_related(*ASSIGNMENT_FIELDS).get(pk=number.pk)
    except PhoneNumber.DoesNotExist:
        raise PhoneNumber.DoesNotExist(f"Number {number.pk} was deleted.") from None


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
    # Compared with the row as it is now, not the caller's copy, which may be stale: the
    # events then say exactly what this change replaced.
    number = _locked(number)
    changed = [field for field, value in changes.items() if _current_value(number, field) != _comparable(value)]
    log = EventLog(actor)
    for field in changed:
        log.add_change(
            number, field, recorded_value(field, getattr(number, field)), recorded_value(field, changes[field])
        )
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
    log = EventLog(actor)
    log.add(number, NumberEvent.Action.DELETED, before=number_state(number))
    number.delete()
    log.save()


def _assigned_field(assignee: Assignee) -> str:
    """The PhoneNumber field that points to this kind of agent or trunk: voice_agent,
    text_agent or trunk."""
    return assignee.numbers.field.name


@transaction.atomic
def numbers_record_rename(*, actor: Actor, assignee: Assignee, old_name: str) -> None:
    """Record a rename of an agent or trunk (`assignee`, carrying its new name) on the
    timeline of every number assigned to it. Called by the rename, in its transaction,
    before the new name is saved; the numbers stay locked until it commits."""
    lock_and_record_for_numbers(
        actor=actor,
        related=assignee,
        action=NumberEvent.Action.RENAMED,
        field=_assigned_field(assignee),
        before={"id": assignee.pk, "name": old_name},
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
        before=assignment_value(assignee),
        after=None,
    )
    return assignee.numbers.update(**{field: None, "updated_at": timezone.now()})


TRUNK_FIELDS = ("name", "direction", "auth_type", "host", "port", "username", "password", "outbound_server")


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
    before = {field: getattr(trunk, field) for field in changes}
    for field, value in changes.items():
        setattr(trunk, field, value)
    _validate_trunk(trunk)
    if "name" in changes and trunk.name != before["name"]:
        numbers_record_rename(actor=actor, assignee=trunk, old_name=before["name"])
    save_changed_fields(trunk, [field for field in changes if getattr(trunk, field) != before[field]])
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
    names = [f"{field}__name" for field in changes if field in ASSIGNMENT_FIELDS]
    rows = list(
        PhoneNumber.objects.for_account(account)
        .filter(pk__in=ids)
        .exclude(unchanged)
        .select_for_update(of=("self",))
        .order_by("id")
        .values("id", "account_id", "number", *columns.values(), *names)
    )
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
    rows = list(
        numbers.select_for_update(of=("self",)).order_by("id").values("id", "account_id", "number", *STATE_VALUES)
    )
    log = EventLog(actor)
    for row in rows:
        log.add(row, NumberEvent.Action.DELETED, before=number_state(row))
    PhoneNumber.objects.filter(pk__in=[row["id"] for row in rows]).delete()
    log.save()
    return len(rows)
