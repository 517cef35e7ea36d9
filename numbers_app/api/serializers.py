from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.api.fields import (
    AccountObjectIdField,
    BlankAsNullCharField,
    StrictCharField,
    StrictIntegerField,
    TimestampField,
)

from ..models import PhoneNumber, SipTrunk
from ..phone import E164_MESSAGE, E164_REGEX, normalize_number, parse_e164


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


class NumberLookupSerializer(serializers.Serializer):
    """Body of activate/deactivate: a number in the caller's account, in any common format."""

    number = StrictCharField(trim_whitespace=False, max_length=32, error_messages={"invalid": E164_MESSAGE})

    def validate_number(self, value: str) -> str:
        try:
            return normalize_number(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


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
