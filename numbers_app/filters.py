"""Query-parameter filters of the numbers and trunks lists and of the activity, shared by the
API, the dashboard and the selectors. How the API describes them in its OpenAPI schema is
the API's business: numbers_app.api.schema."""

import re
from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Substr

from kalem_site.actors import Channel
from kalem_site.ids import id_in_range

from .models import NumberEvent, PhoneNumber, SipTrunk
from .phone import normalize_number, search_digits

# A number's digits: all of it but the leading `+`.
NUMBER_DIGITS = Substr("number", 2)

# The value of an id filter that selects rows with nothing assigned (used by the dashboard's
# "Unassigned" choices; documented for the API too).
UNASSIGNED = "none"


# An id filter's value: a positive integer, `none`, or empty (no filter).
ID_FILTER_REGEX = rf"^([1-9][0-9]*|{UNASSIGNED})?$"
_ID_FILTER_RE = re.compile(ID_FILTER_REGEX)


class IdOrUnassignedField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        if not _ID_FILTER_RE.fullmatch(value):
            raise ValidationError(f'Enter a positive integer id, or "{UNASSIGNED}".', code="invalid")
        if value == UNASSIGNED:
            return UNASSIGNED
        # An id beyond 64 bits matches nothing; -1 can never be an id.
        return id_in_range(value) or -1


class IdFilter(django_filters.Filter):
    """`?voice_agent_id=3` → assigned to 3; `?voice_agent_id=none` → assigned to nothing."""

    field_class = IdOrUnassignedField

    def filter(self, queryset, value):
        if value is None:
            return queryset
        if value == UNASSIGNED:
            return queryset.filter(**{f"{self.field_name}__isnull": True})
        return queryset.filter(**{f"{self.field_name}_id": value})


class DigitsSearchField(forms.CharField):
    def __init__(self, **kwargs):
        # Tabs and newlines are not among the characters a search may hold; keep them to refuse.
        super().__init__(**{**kwargs, "strip": False})

    def to_python(self, value):
        value = super().to_python(value)
        if self.max_length is not None and len(value) > self.max_length:
            # Counted on what was typed, punctuation included (the schema's maxLength).
            raise ValidationError(f"Search with at most {self.max_length} characters.", code="max_length")
        return search_digits(value)


class DigitsSearchFilter(django_filters.CharFilter):
    """Numbers containing these digits; `+`, spaces, dashes, dots and parentheses are ignored."""

    field_class = DigitsSearchField

    def filter(self, queryset, value):
        if not value:
            return queryset
        # Searched in the digits after the `+` (the same rows, as `+` is never a digit):
        # PostgreSQL's trigram index is on that expression (migration 0007), so that
        # equality lookups on `number` (`number IN (…)` of imports and syncs) never use it. A
        # trigram index on `number` itself serves `=` too, and took seconds per 1,000 numbers.
        return queryset.alias(number_digits=NUMBER_DIGITS).filter(number_digits__contains=value)


# `?routable=` takes these (lower case, as the JSON booleans of the lookup's `routable`).
ROUTABLE_CHOICES = [("true", "Routable"), ("false", "Not routable")]


class RoutableFilter(django_filters.ChoiceFilter):
    """`?routable=true`: the numbers the routing lookup calls routable (docs/API.md §9);
    `false`: all the others. Filters on PhoneNumber.routable, the column the database
    computes by that rule, through its index."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "`true`: numbers the routing lookup calls routable (active, a voice or text agent, and for "
            "manual numbers a SIP trunk); `false`: the others.",
        )
        super().__init__(choices=ROUTABLE_CHOICES, **kwargs)

    def filter(self, queryset, value):
        if value in (None, ""):
            return queryset
        return queryset.filter(routable=value == "true")


class LenientFilterSet(django_filters.FilterSet):
    """A FilterSet whose filters are the same for every request (no choices read per
    request), so its form class is built once per class: django-filter builds it anew for
    each instance, labels and fields included, and the numbers list builds several."""

    def get_form_class(self):
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def valid_values(self) -> dict:
        """The cleaned values of the filters that are valid; the dashboard shows the errors of
        the others and ignores them (the API refuses them instead)."""
        self.is_valid()
        return {name: value for name, value in self.form.cleaned_data.items() if name not in self.errors}


class NumberFilter(LenientFilterSet):
    search = DigitsSearchFilter(field_name="number", max_length=32)
    status = django_filters.ChoiceFilter(choices=PhoneNumber.Status.choices)
    voice_agent_id = IdFilter(field_name="voice_agent")
    text_agent_id = IdFilter(field_name="text_agent")
    trunk_id = IdFilter(field_name="trunk")
    provider = django_filters.ChoiceFilter(choices=PhoneNumber.Provider.choices)
    routable = RoutableFilter()

    class Meta:
        model = PhoneNumber
        fields = ["search", "status", "voice_agent_id", "text_agent_id", "trunk_id", "provider", "routable"]


class TrunkFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(choices=SipTrunk.Direction.choices)
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = SipTrunk
        fields = ["direction", "search"]


class NumberQueryField(forms.CharField):
    """A number in any common formatting, as E.164."""

    def to_python(self, value):
        value = super().to_python(value)
        if self.max_length is not None and len(value) > self.max_length:
            # Counted on what was typed, as the schema's maxLength and the lookup count it.
            raise ValidationError(f"Give the number in at most {self.max_length} characters.", code="max_length")
        if value[:1] == " ":
            value = "+" + value[1:]  # `?number=+1555…` with the `+` not percent-encoded
        return normalize_number(value) if value else ""


class NumberQueryFilter(django_filters.CharFilter):
    field_class = NumberQueryField


class PositiveIdField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value and not (value.isascii() and value.isdigit() and value.lstrip("0")):
            raise ValidationError("Enter a positive integer id.", code="invalid")
        return (id_in_range(value) or -1) if value else None


class PositiveIdFilter(django_filters.Filter):
    field_class = PositiveIdField


# An offset (`+02`, `+0200`, `+02:00`) after a time, whose `+` arrived as a space because it
# was not percent-encoded.
_UNENCODED_OFFSET_RE = re.compile(r"([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?) ([0-9]{2}(?::?[0-9]{2})?)$")
# What `since` and `until` take: a date, or a date and a time to the minute, second or
# microsecond, with an optional offset. Its groups tell how precise the value is.
TIMESTAMP_REGEX = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$"
)
_TIMESTAMP_RE = re.compile(TIMESTAMP_REGEX)
TIMESTAMP_MESSAGE = "Enter a date (2026-11-26) or a date and time (2026-11-26T10:30, 2026-11-26T10:30:00+02:00)."
_LATEST = datetime.max.replace(tzinfo=UTC)


class TimestampQueryField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 (a date alone is its midnight); a time without an offset is UTC."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = _UNENCODED_OFFSET_RE.sub(r"\1+\2", value.strip())
        if not _TIMESTAMP_RE.fullmatch(value):
            raise ValidationError(TIMESTAMP_MESSAGE, code="invalid")
        moment = super().to_python(value)
        try:
            moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00, which is in year 0 in UTC
            raise ValidationError("Enter a moment between the years 1 and 9999 (UTC).", code="invalid") from None
        return moment


class UntilField(TimestampQueryField):
    """The end of the period a value names, exclusive: `until=2025-01-15` includes all of that
    day, `…T11:00` all of that minute, `…T11:00:00` all of that second. Timestamps are shown
    to the second, so an event shown at 11:00:00 is found by `until=…T11:00:00`."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        _, hour, _, second, fraction, _ = _TIMESTAMP_RE.fullmatch(
            _UNENCODED_OFFSET_RE.sub(r"\1+\2", value.strip())
        ).groups()
        if hour is None:
            step = timedelta(days=1)
        elif second is None:
            step = timedelta(minutes=1)
        else:
            step = timedelta(microseconds=1) if fraction else timedelta(seconds=1)
        try:
            return moment + step
        except OverflowError:  # the last moment there is: no upper bound
            return _LATEST


class TimestampFilter(django_filters.IsoDateTimeFilter):
    field_class = TimestampQueryField


class UntilFilter(TimestampFilter):
    field_class = UntilField


class EventFilter(LenientFilterSet):
    """The account's activity: `?number=` (any formatting), `?since=` and `?until=` (ISO 8601,
    both inclusive, `until` to the precision given), `?action=`, `?channel=`."""

    number = NumberQueryFilter(field_name="number", max_length=32, strip=False)
    number_id = PositiveIdFilter(field_name="number_id")
    action = django_filters.ChoiceFilter(choices=NumberEvent.Action.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    since = TimestampFilter(field_name="occurred_at", lookup_expr="gte")
    until = UntilFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = NumberEvent
        fields = ["number", "number_id", "action", "channel", "since", "until"]
