"""Serializer fields shared by every API object."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kalem_site.ids import id_in_range
from kalem_site.timestamps import format_timestamp


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return format_timestamp(value)


class StrictCharField(serializers.CharField):
    """A JSON string, and nothing else: DRF's CharField would turn 123 or true into text."""

    default_error_messages = {"invalid": "Enter a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and nothing else: DRF's IntegerField would accept "5060" and 5060.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class BlankAsNullCharField(StrictCharField):
    """Optional text stored as "" and shown as null; null is accepted as "" on input."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_representation(self, value):
        return value or None


@extend_schema_field(OpenApiTypes.INT64)
class AccountObjectIdField(serializers.Field):
    """An id of an object of the caller's account, or null.

    An id of another account's object gets exactly the message of an id that does not
    exist, so ids of other accounts cannot be probed."""

    default_error_messages = {
        "invalid": "Enter an integer id, or null.",
        "does_not_exist": "{label} {value} does not exist.",
    }

    def __init__(self, *, model, **kwargs):
        self.model = model
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        pk = id_in_range(str(data)) if data > 0 else None
        related = None
        if pk is not None:
            related = self.model.objects.for_account(self.context["account"]).filter(pk=pk).first()
        if related is None:
            self.fail("does_not_exist", label=self.model.kind_title, value=data)
        return related

    def to_representation(self, value):
        return value.pk
