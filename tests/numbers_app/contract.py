"""What API.md says a Number and an error look like, written out independently of the app
code, so that the tests fail when the app drifts from the contract."""

from datetime import UTC

NUMBERS_URL = "/api/v1/numbers"


E164_MESSAGE = "Enter a phone number in E.164 format, e.g. +15551234567."

# 2025-01-15T10:30:00+00:00: UTC, whole seconds, explicit offset.
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00"


def number_url(pk: int) -> str:
    return f"{NUMBERS_URL}/{pk}"


def timestamp(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


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
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def assert_error(response, status: int, code: str) -> dict:
    """The response is the JSON error envelope with this status and code; returns `error`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) == ({"code", "message", "fields"} if code == "validation_error" else {"code", "message"})
    return error


def assert_validation_error(response, *fields: str) -> dict:
    """A 422 whose `fields` names exactly these fields; returns `fields`."""
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == "The given data was invalid."
    assert sorted(error["fields"]) == sorted(fields), error["fields"]
    for messages in error["fields"].values():
        assert messages and all(isinstance(message, str) and message for message in messages)
    return error["fields"]
