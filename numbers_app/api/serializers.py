from types import SimpleNamespace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.api.fields import (
    AccountObjectIdField,
    BlankAsNullCharField,
    StrictCharField,
    StrictIntegerField,
    TimestampField,
)
from kalem_site.timestamps import format_timestamp

from ..bulk_jobs import NumberSelection
from ..filters import IdFilter, NumberFilter, RoutableFilter
from ..models import ASSIGNMENTS, BulkJob, NumberEvent, PhoneNumber, SipTrunk
from ..phone import E164_MESSAGE, E164_REGEX, normalize_number, parse_e164
from ..selectors import number_routing
from ..services import BULK_ACTIONS
from ..shapes import event_shape, number_data
from .schema import number_filter_object_schema

# The Number object's keys and lookups live in numbers_app.shapes (webhook messages carry the
# same object). The declared fields below describe the same keys for input and for the OpenAPI
# schema; a test holds the two to the same keys in the same order.


class NumberSerializer(serializers.Serializer):
    """The Number object of the contract: exactly these keys, in this order.

    Input: `number` (create only; on update only its current value is accepted), `provider`,
    `status` (update only: new numbers are active) and the three assignment ids."""

    id = serializers.IntegerField(read_only=True)
    number = StrictCharField(
        trim_whitespace=False,
        # The format (which bounds the length too), for the schema's pattern;
        # validate_number() checks that it is a possible number.
        validators=[RegexValidator(E164_REGEX, message=E164_MESSAGE)],
        error_messages={"invalid": E164_MESSAGE},
    )
    provider = serializers.ChoiceField(choices=PhoneNumber.Provider.choices, required=False)
    status = serializers.ChoiceField(choices=PhoneNumber.Status.choices, required=False)
    voice_agent_id = AccountObjectIdField(model=VoiceAgent, source="voice_agent")
    voice_agent_name = serializers.CharField(source="voice_agent.name", read_only=True, allow_null=True)
    text_agent_id = AccountObjectIdField(model=TextAgent, source="text_agent")
    text_agent_name = serializers.CharField(source="text_agent.name", read_only=True, allow_null=True)
    trunk_id = AccountObjectIdField(model=SipTrunk, source="trunk")
    trunk_name = serializers.CharField(source="trunk.name", read_only=True, allow_null=True)
    created_at = TimestampField()
    updated_at = TimestampField()

    def to_representation(self, number) -> dict:
        """From a `.values(*NUMBER_COLUMNS)` row or from an instance with its relations
        loaded. Hand-written because it runs 100 times a page: DRF's per-field machinery
        cost more than the query. The timestamps stay datetimes: the renderer writes them
        (kalem_site.api.renderers)."""
        return number_data(number)

    def validate_number(self, value: str) -> str:
        try:
            value = parse_e164(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        if self.instance is not None and value != self.instance.number:
            raise serializers.ValidationError("The number of an existing entry cannot be changed.")
        return value

    def validate(self, attrs: dict) -> dict:
        if self.instance is None:
            attrs.pop("status", None)  # new numbers are active
        else:
            attrs.pop("number", None)  # unchanged, checked above
        return attrs


class NumberRoutingSerializer(NumberSerializer):
    """The Number object plus the routing verdict (`routable`, and the `reasons` it is not)."""

    routable = serializers.BooleanField(read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    def to_representation(self, number) -> dict:
        data = super().to_representation(number)
        # A row (numbers_app.hot_reads) has the same attribute names as an instance.
        data["routable"], data["reasons"] = number_routing(
            SimpleNamespace(**number) if isinstance(number, dict) else number
        )
        return data


class NumberLookupSerializer(serializers.Serializer):
    """A number in the caller's account, in any common format: the body of activate and
    deactivate, the query of lookup."""

    number = StrictCharField(trim_whitespace=False, max_length=32, error_messages={"invalid": E164_MESSAGE})

    def validate_number(self, value: str) -> str:
        try:
            return normalize_number(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    @classmethod
    def valid_number(cls, value: object) -> str | None:
        """What `validated_data["number"]` would be for `{"number": value}`, or None when it
        is not valid (is_valid() then says why): without building the serializer and its
        fields, which cost more than the lookup's query. The field's checks that matter for
        a value normalize_number() accepts are its type and its length; the characters it
        refuses (NUL, surrogates) normalize_number() refuses too."""
        if not isinstance(value, str) or not 0 < len(value) <= cls._declared_fields["number"].max_length:
            return None
        try:
            return normalize_number(value)
        except DjangoValidationError:
            return None


class TrunkSerializer(serializers.Serializer):
    """The Trunk object. The password is write-only; `sip_uri` and `registered` are derived."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=100)
    direction = serializers.ChoiceField(choices=SipTrunk.Direction.choices)
    auth_type = serializers.ChoiceField(choices=SipTrunk.AuthType.choices)
    sip_uri = serializers.CharField(read_only=True, allow_null=True)
    host = BlankAsNullCharField(max_length=253)
    port = StrictIntegerField(min_value=1, max_value=65535, required=False)
    username = BlankAsNullCharField(max_length=100)
    password = StrictCharField(
        write_only=True, required=False, allow_blank=True, allow_null=True, max_length=128, trim_whitespace=False
    )
    outbound_server = BlankAsNullCharField(max_length=260)
    registered = serializers.BooleanField(read_only=True)
    created_at = TimestampField()
    updated_at = TimestampField()

    def validate_password(self, value: str | None) -> str:
        return value or ""


BULK_LIMIT = 1000


@extend_schema_field(number_filter_object_schema())
class NumberFilterField(serializers.Field):
    """`filter`: the list's filters as a JSON object ({"status": "active", "trunk_id": 3}):
    each value a string as in the list's query string; an id filter also takes a JSON
    integer, `routable` a JSON boolean; null is no filter. The values are checked
    against the list's rules by the serializer (NumberSelection)."""

    default_error_messages = {
        "not_a_dict": 'Send an object of the list\'s filters, e.g. {{"status": "active"}}.',
    }

    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        return data

    @staticmethod
    def as_query_values(data: dict) -> dict[str, str]:
        """The values as the list's query string spells them; errors keyed `filter.<name>`
        (raised by the serializer's validate(), so that they are not nested under `filter`)."""
        values, errors = {}, {}
        for name, value in data.items():
            declared = NumberFilter.base_filters.get(name)
            if value is None:
                value = ""
            elif isinstance(declared, RoutableFilter) and isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(declared, IdFilter) and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            elif not isinstance(value, str):
                errors[f"filter.{name}"] = [
                    "Enter a string, or an integer id." if isinstance(declared, IdFilter) else "Enter a string."
                ]
                continue
            values[name] = value
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def to_representation(self, value: dict) -> dict:
        return value


class NumberBulkSerializer(serializers.Serializer):
    """`POST /api/v1/numbers/bulk`: one action on up to 1,000 numbers, given by number or by
    id, or on every number matching the list's filters."""

    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    numbers = serializers.ListField(
        child=StrictCharField(trim_whitespace=False, max_length=32),
        required=False,
        allow_empty=False,
        max_length=BULK_LIMIT,
    )
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1), required=False, allow_empty=False, max_length=BULK_LIMIT
    )
    filter = NumberFilterField(
        required=False,
        help_text="The list's filters (`search`, `status`, `voice_agent_id`, …; {} is the whole account): the "
        "action applies to every number of the account matching them.",
    )
    voice_agent_id = AccountObjectIdField(model=VoiceAgent, source="voice_agent")
    text_agent_id = AccountObjectIdField(model=TextAgent, source="text_agent")
    trunk_id = AccountObjectIdField(model=SipTrunk, source="trunk")

    def validate(self, attrs: dict) -> dict:
        if sum(key in attrs for key in ("numbers", "ids", "filter")) != 1:
            raise serializers.ValidationError({"numbers": ["Send exactly one of numbers, ids or filter."]})
        assignments = [field for field in ASSIGNMENTS if field in attrs]
        if attrs["action"] == "assign" and not assignments:
            raise serializers.ValidationError(
                {"action": ["assign needs voice_agent_id, text_agent_id or trunk_id (null unassigns)."]}
            )
        if attrs["action"] != "assign" and assignments:
            raise serializers.ValidationError(
                {"action": [f"{attrs['action']} takes no voice_agent_id, text_agent_id or trunk_id."]}
            )
        if "filter" in attrs:
            attrs["filter"] = NumberFilterField.as_query_values(attrs["filter"])
            try:
                NumberSelection(account=self.context["account"], filters=attrs["filter"])
            except DjangoValidationError as error:
                raise serializers.ValidationError(
                    {f"filter.{name}": messages for name, messages in error.message_dict.items()}
                ) from None
        return attrs


class NumberBulkItemSerializer(serializers.Serializer):
    input = serializers.JSONField(help_text="The item as sent: a number or an id.")
    id = serializers.IntegerField(allow_null=True)
    number = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["ok", "not_found", "error"])
    message = serializers.CharField(allow_null=True)


class NumberBulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    results = NumberBulkItemSerializer(many=True)
    changed = serializers.IntegerField(help_text="How many numbers the action actually changed.")


_BULK_ASSIGNMENTS_SCHEMA = {
    "type": "object",
    "description": "For assign: the ids it sets (null: unassigns), as sent; {} for the other actions.",
    "properties": {f"{field}_id": {"type": "integer", "nullable": True} for field in ASSIGNMENTS},
    "additionalProperties": False,
}


@extend_schema_field(_BULK_ASSIGNMENTS_SCHEMA)
class BulkAssignmentsField(serializers.ReadOnlyField):
    pass


class BulkJobSerializer(serializers.Serializer):
    """A bulk action by filter on more than 1,000 numbers, run in the background: its state,
    progress and outcome counts."""

    id = serializers.IntegerField(read_only=True)
    state = serializers.ChoiceField(choices=BulkJob.State.choices, read_only=True)
    action = serializers.ChoiceField(choices=BULK_ACTIONS, read_only=True)
    filter = serializers.DictField(child=serializers.CharField(), read_only=True, help_text="The filters, as given.")
    assignments = BulkAssignmentsField()
    total = serializers.IntegerField(read_only=True, help_text="How many numbers matched when it was accepted.")
    processed = serializers.IntegerField(read_only=True, help_text="How many of them are done so far.")
    changed = serializers.IntegerField(read_only=True)
    unchanged = serializers.IntegerField(read_only=True, help_text="Already as the action asks.")
    skipped = serializers.IntegerField(
        read_only=True, help_text="Changed meanwhile so that they no longer match the filter, or deleted."
    )
    error = serializers.CharField(read_only=True, allow_null=True, help_text="Why it failed; null otherwise.")
    created_at = TimestampField()
    updated_at = TimestampField()
    finished_at = TimestampField(allow_null=True, help_text="null until it is done or failed.")

    def to_representation(self, job: BulkJob) -> dict:
        return {
            "id": job.pk,
            "state": job.state,
            "action": job.action,
            "filter": job.filters,
            "assignments": {f"{field}_id": pk for field, pk in job.assignments.items()},
            "total": job.total,
            "processed": job.processed,
            "changed": job.changed,
            "unchanged": job.unchanged,
            "skipped": job.skipped,
            "error": job.error or None,
            "created_at": format_timestamp(job.created_at),
            "updated_at": format_timestamp(job.updated_at),
            "finished_at": format_timestamp(job.finished_at) if job.finished_at else None,
        }


# The value of an event's `before` or `after`: a status or provider, an agent or trunk as it
# was named then, the whole number (on created and deleted), or null.
_ASSIGNMENT_VALUE_SCHEMA = {
    "type": "object",
    "nullable": True,
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "additionalProperties": False,
}
_EVENT_VALUE_SCHEMA = {
    "nullable": True,
    "oneOf": [
        {"type": "string"},
        _ASSIGNMENT_VALUE_SCHEMA,
        {
            "type": "object",
            "required": ["status", "provider", *ASSIGNMENTS],
            "properties": {
                "status": {"type": "string", "enum": PhoneNumber.Status.values},
                "provider": {"type": "string", "enum": PhoneNumber.Provider.values},
                **dict.fromkeys(ASSIGNMENTS, _ASSIGNMENT_VALUE_SCHEMA),
            },
            "additionalProperties": False,
        },
    ],
}


@extend_schema_field(_EVENT_VALUE_SCHEMA)
class EventValueField(serializers.ReadOnlyField):
    pass


class EventSerializer(serializers.Serializer):
    """One change to a number on its audit timeline (read-only)."""

    id = serializers.IntegerField(read_only=True)
    number_id = serializers.IntegerField(read_only=True, help_text="The number's id; it may since have been deleted.")
    number = serializers.CharField(read_only=True, help_text="The number, E.164.")
    action = serializers.ChoiceField(choices=NumberEvent.Action.choices, read_only=True)
    field = serializers.ChoiceField(
        choices=NumberEvent.Field.choices,
        read_only=True,
        allow_null=True,
        help_text="The field that changed; null for created and deleted.",
    )
    before = EventValueField(help_text="The field's value before (for deleted, the whole number).")
    after = EventValueField(help_text="The field's value after (for created, the whole number).")
    actor_type = serializers.ChoiceField(choices=NumberEvent._meta.get_field("actor_type").choices, read_only=True)
    actor_name = serializers.CharField(
        read_only=True, help_text="The user's username, the token's or the command's name."
    )
    channel = serializers.ChoiceField(choices=NumberEvent._meta.get_field("channel").choices, read_only=True)
    occurred_at = TimestampField()

    def to_representation(self, event: dict) -> dict:
        """From a `.values(*EVENT_COLUMNS)` row."""
        return event_shape(event)
