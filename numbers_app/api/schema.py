"""How the API's OpenAPI schema describes the query parameters of numbers_app.filters (which,
being core, knows nothing of drf-spectacular). Imported by numbers_app.api.views, so the
filters are annotated before any schema is generated."""

import django_filters
from drf_spectacular.utils import extend_schema_field

from .. import filters
from ..phone import SEARCH_REGEX

# A timestamp, or empty for no filter (as the dashboard's form sends an unused field).
_TIMESTAMP = {"type": "string", "pattern": filters.TIMESTAMP_REGEX.replace("^", "^(", 1).replace("$", ")?$")}

FILTER_SCHEMAS = {
    filters.IdFilter: {"type": "string", "pattern": filters.ID_FILTER_REGEX},
    filters.DigitsSearchFilter: {"type": "string", "pattern": SEARCH_REGEX, "maxLength": 32},
    filters.NumberQueryFilter: {"type": "string", "maxLength": 32, "example": "+1 555 123 4567"},
    filters.PositiveIdFilter: {"type": "string", "pattern": r"^([1-9][0-9]*)?$"},
    filters.TimestampFilter: _TIMESTAMP,
    filters.UntilFilter: _TIMESTAMP,
}

for filter_class, schema in FILTER_SCHEMAS.items():
    extend_schema_field(schema)(filter_class)

# A choice filter takes one of its choices, or an empty value for no filter.
for filterset in (filters.NumberFilter, filters.TrunkFilter, filters.EventFilter):
    for declared in filterset.base_filters.values():
        if isinstance(declared, django_filters.ChoiceFilter):
            enum = [value for value, _ in declared.extra["choices"]] + [""]
            described = {"description": declared.extra["help_text"]} if "help_text" in declared.extra else {}
            extend_schema_field({"type": "string", "enum": enum, **described})(declared)
