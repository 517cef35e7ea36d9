"""How the API's OpenAPI schema describes the query parameters of numbers_app.filters (which,
being core, knows nothing of drf-spectacular). Imported by numbers_app.api.views, so the
filters are annotated before any schema is generated."""

import django_filters
from drf_spectacular.drainage import get_override
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


def number_filter_object_schema() -> dict:
    """The `filter` object of a bulk request: the list's filters as JSON, each as its query
    parameter is described, an id filter also as a JSON integer, `routable` also as a JSON
    boolean; null is no filter."""
    properties = {}
    for name, declared in filters.NumberFilter.base_filters.items():
        described = get_override(declared, "field") or get_override(type(declared), "field")
        if isinstance(declared, filters.IdFilter):
            properties[name] = {"oneOf": [described, {"type": "integer", "minimum": 1}], "nullable": True}
        elif isinstance(declared, filters.RoutableFilter):
            properties[name] = {"oneOf": [described, {"type": "boolean"}], "nullable": True}
        else:
            properties[name] = {**described, "nullable": True}
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "example": {"status": "active", "trunk_id": 3},
    }
