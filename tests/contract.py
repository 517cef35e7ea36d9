"""What the API contract (docs/API.md) says the objects look like, written out once for every
test and independently of the app code, so that the tests fail when the app drifts from the
contract. The error envelope's assertions are in tests/helpers.py."""

import re
from datetime import UTC

NUMBERS_URL = "/api/v1/numbers"

E164_MESSAGE = "Enter a phone number in E.164 format, e.g. +15551234567."

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

# 2025-01-15T10:30:00+00:00: UTC, whole seconds, explicit offset. Use TIMESTAMP.fullmatch().
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")


def iso(value) -> str:
    """A stored datetime as the API writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def number_url(pk: int) -> str:
    return f"{NUMBERS_URL}/{pk}"


def number_json(row) -> dict:
    """The Number object the API must return for this database row."""
    row.refresh_from_db()
    return {
        "id": row.id,
        "number": row.number,
        "provider": row.provider,
        "status": row.status,
        "voice_agent_id": row.voice_agent_id,
        "voice_agent_name": row.voice_agent.name if row.voice_agent else None,
        "text_agent_id": row.text_agent_id,
        "text_agent_name": row.text_agent.name if row.text_agent else None,
        "trunk_id": row.trunk_id,
        "trunk_name": row.trunk.name if row.trunk else None,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


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
