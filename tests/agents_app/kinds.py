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
