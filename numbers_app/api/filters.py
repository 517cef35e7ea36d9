"""Query-parameter filters of the numbers and trunks lists, shared with the dashboard."""

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field

from kalem_site.api.fields import id_in_range

from ..models import PhoneNumber, SipTrunk
from ..phone import SEARCH_REGEX, search_digits

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


@extend_schema_field({"type": "string", "pattern": ID_FILTER_REGEX})
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


@extend_schema_field({"type": "string", "pattern": SEARCH_REGEX, "maxLength": 32})
class DigitsSearchFilter(django_filters.CharFilter):
    """Numbers containing these digits; `+`, spaces, dashes, dots and parentheses are ignored."""

    field_class = DigitsSearchField

    def __init__(self, *args, lookup_expr: str = "contains", **kwargs):
        # django-filter's Filter.__init__ replaces a class-level lookup_expr with "exact".
        super().__init__(*args, lookup_expr=lookup_expr, **kwargs)


def choice_filter(choices) -> django_filters.ChoiceFilter:
    """A filter on one of `choices`; an empty value means no filter, and the schema says so."""
    enum = [value for value, _ in choices] + [""]
    return extend_schema_field({"type": "string", "enum": enum})(django_filters.ChoiceFilter(choices=choices))


class NumberFilter(django_filters.FilterSet):
    search = DigitsSearchFilter(field_name="number", max_length=32)
    status = choice_filter(PhoneNumber.Status.choices)
    voice_agent_id = IdFilter(field_name="voice_agent")
    text_agent_id = IdFilter(field_name="text_agent")
    trunk_id = IdFilter(field_name="trunk")
    provider = choice_filter(PhoneNumber.Provider.choices)

    class Meta:
        model = PhoneNumber
        fields = ["search", "status", "voice_agent_id", "text_agent_id", "trunk_id", "provider"]

    def valid_values(self) -> dict:
        """The cleaned values of the filters that are valid; the dashboard shows the errors of
        the others and ignores them (the API refuses them instead)."""
        self.is_valid()
        return {name: value for name, value in self.form.cleaned_data.items() if name not in self.errors}


class TrunkFilter(django_filters.FilterSet):
    direction = choice_filter(SipTrunk.Direction.choices)
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = SipTrunk
        fields = ["direction", "search"]
