"""What ../shared/API.md says the objects look like, written out once for every test and
independently of the app code, so that the tests fail when the app drifts from the contract."""

import re
from pathlib import Path

# Where CI lays the contract: shared/ beside the project's checkout.
API_MD = Path(__file__).resolve().parents[2] / "shared" / "API.md"

NUMBER_KEYS = [
    "id",
    "number",
    "provider",
    "status",
    "voice_agent_id",
    "voice_agent_name",
    "text_agent_id",
    "text_agent_name",
    "trunk_id",
    "trunk_name",
    "created_at",
    "updated_at",
]

TRUNK_KEYS = [
    "id",
    "name",
    "direction",
    "auth_type",
    "sip_uri",
    "host",
    "port",
    "username",
    "outbound_server",
    "registered",
    "created_at",
    "updated_at",
]

AGENT_KEYS = ["id", "name", "description", "numbers_count", "created_at", "updated_at"]

# 2025-01-15T10:30:00+00:00: UTC, whole seconds, explicit offset.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


def iso(value) -> str:
    """A stored (UTC) datetime as the API writes it."""
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


# The Event object's keys, in order (docs/API.md §13).
EVENT_KEYS = [
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
]
