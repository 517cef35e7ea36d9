"""The Number and Event objects as the API and webhook messages show them, built in one place
from `.values()` rows or instances. Neutral: used by the API face and by the webhooks core."""

from kalem_site.timestamps import format_timestamp

# The Number object, once: each key of the contract in its order, and the lookup its value
# comes from. The list reads exactly these columns with `.values(*NUMBER_COLUMNS)` (no model
# instances, joins only for the three names); a single object is read through the same
# lookups on its instance.
NUMBER_SHAPE = (
    ("id", "id"),
    ("number", "number"),
    ("provider", "provider"),
    ("status", "status"),
    ("voice_agent_id", "voice_agent_id"),
    ("voice_agent_name", "voice_agent__name"),
    ("text_agent_id", "text_agent_id"),
    ("text_agent_name", "text_agent__name"),
    ("trunk_id", "trunk_id"),
    ("trunk_name", "trunk__name"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
)
NUMBER_COLUMNS = tuple(lookup for _, lookup in NUMBER_SHAPE)


def _lookup(instance, lookup: str):
    """`voice_agent__name` on an instance: its (already loaded) voice agent's name, or None."""
    value = instance
    for attribute in lookup.split("__"):
        if value is None:
            return None
        value = getattr(value, attribute)
    return value


def number_data(number) -> dict:
    """The Number object from a `.values(*NUMBER_COLUMNS)` row or from an instance with its
    relations loaded, its two timestamps still the datetimes read (UTC: the database
    session's zone): for a writer that writes them as format_timestamp() does, like the API's
    renderer (orjson, whole seconds), which does it in C, 200 values a page."""
    if isinstance(number, dict):
        return {key: number[lookup] for key, lookup in NUMBER_SHAPE}
    return {key: _lookup(number, lookup) for key, lookup in NUMBER_SHAPE}


def number_shape(number) -> dict:
    """The Number object, timestamps written out (webhook messages)."""
    data = number_data(number)
    data["created_at"] = format_timestamp(data["created_at"])
    data["updated_at"] = format_timestamp(data["updated_at"])
    return data


# The Event object's keys in their order: each is also the column its value is read from.
EVENT_COLUMNS = (
    "id",
    "number_id",
    "number",
    "action",
    "field",
    "before",
    "after",
    "actor_type",
    "actor_name",
    "channel",
    "occurred_at",
)


def event_shape(event: dict) -> dict:
    """The Event object from a `.values(*EVENT_COLUMNS)` row (or an event as EventLog holds it)."""
    data = {key: event[key] for key in EVENT_COLUMNS}
    data["field"] = data["field"] or None
    data["occurred_at"] = format_timestamp(data["occurred_at"])
    return data
