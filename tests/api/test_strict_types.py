"""Body fields take exactly the JSON type the schema gives them: a string field refuses
numbers, an integer field refuses strings and floats. (The OpenAPI schema says so, and the
fuzzer's negative-data check holds us to it.)"""

import pytest

from agents_app.models import VoiceAgent
from numbers_app.models import PhoneNumber, SipTrunk

TRUNK = {"name": "Edge", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1"}


@pytest.mark.parametrize("name", [123, 1.5, True, ["Sales"], {"name": "Sales"}])
def test_an_agent_name_must_be_a_string(api, account, name):
    response = api.post("/api/v1/voice-agents", {"name": name}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"name": ["Enter a string."]}
    assert not VoiceAgent.objects.exists()


@pytest.mark.parametrize("value", ["1", "01", 1.0, True])
def test_an_assignment_id_must_be_a_json_integer(api, account, make_voice_agent, value):
    make_voice_agent(account)
    response = api.post("/api/v1/numbers", {"number": "+15551230000", "voice_agent_id": value}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"voice_agent_id": ["Enter an integer id, or null."]}
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("field", ["host", "username", "password", "outbound_server"])
def test_trunk_text_fields_must_be_strings(api, field):
    response = api.post("/api/v1/trunks", {**TRUNK, field: 10}, format="json")
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert not SipTrunk.objects.exists()


@pytest.mark.parametrize("search", ["\\t555", "555\\n", "555a", "５５５"])
def test_a_number_search_allows_only_digits_and_the_ignored_punctuation(api, search):
    response = api.get("/api/v1/numbers", {"search": search.encode().decode("unicode_escape")})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["search"]


@pytest.mark.parametrize("number", ["+15551234567\n", "+15551234567 ", " +15551234567"])
def test_a_created_number_has_no_surrounding_whitespace(api, number):
    response = api.post("/api/v1/numbers", {"number": number}, format="json")
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["number"]
    assert not PhoneNumber.objects.exists()


def test_an_idempotency_key_with_a_trailing_newline_is_refused(api):
    response = api.post("/api/v1/voice-agents", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="key\n")
    assert response.status_code == 422


def test_a_search_longer_than_32_characters_is_refused_however_much_is_punctuation(api):
    response = api.get("/api/v1/numbers", {"search": "5 5 5 " * 6})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["search"]
