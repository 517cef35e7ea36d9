"""The two agent kinds of API.md §6, for tests that run once per kind."""

from dataclasses import dataclass

from agents_app.models import Agent, TextAgent, VoiceAgent


@dataclass(frozen=True)
class Kind:
    url: str
    model: type[Agent]
    factory: str  # the conftest fixture that makes one
    number_field: str  # the PhoneNumber slot that assigns a number to this kind
    other_model: type[Agent]
    other_factory: str
    other_number_field: str

    def __str__(self) -> str:
        return self.url.rsplit("/", 1)[1]


VOICE = Kind(
    "/api/v1/voice-agents", VoiceAgent, "make_voice_agent", "voice_agent", TextAgent, "make_text_agent", "text_agent"
)
TEXT = Kind(
    "/api/v1/text-agents", TextAgent, "make_text_agent", "text_agent", VoiceAgent, "make_voice_agent", "voice_agent"
)
KINDS = [VOICE, TEXT]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert list(body) == ["error"]
    assert body["error"]["code"] == code
    return body["error"]


def assert_validation_error(response, *fields: str) -> dict:
    """A 422 whose `fields` names exactly these fields; returns `fields`."""
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == "The given data was invalid."
    assert sorted(error["fields"]) == sorted(fields), error["fields"]
    for messages in error["fields"].values():
        assert messages and all(isinstance(message, str) and message for message in messages)
    return error["fields"]
