"""GET /api/v1/numbers/lookup?number=… — the routing verdict of a number (issue: operator
power features, part 5)."""

import pytest

from tests.contract import NUMBER_KEYS

URL = "/api/v1/numbers/lookup"


@pytest.fixture
def routed(account, make_number, make_voice_agent, make_trunk):
    return make_number(account, number="+15551234567", voice_agent=make_voice_agent(account), trunk=make_trunk(account))


def test_a_routable_number_returns_the_number_object_and_the_verdict(api, routed):
    response = api.get(URL, {"number": "+15551234567"})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [*NUMBER_KEYS, "routable", "reasons"]
    assert body["id"] == routed.id
    assert body["routable"] is True
    assert body["reasons"] == []


@pytest.mark.parametrize(
    "typed", ["+1 (555) 123-4567", "+1.555.123.4567", " +1 555 123 4567 ", "0015551234567", "+1-555-1234567"]
)
def test_any_common_formatting_finds_the_number(api, routed, typed):
    response = api.get(URL, {"number": typed})
    assert response.status_code == 200
    assert response.json()["id"] == routed.id


def test_each_missing_piece_is_a_reason(api, account, make_number):
    number = make_number(account, number="+15557654321", status="inactive", provider="manual")
    response = api.get(URL, {"number": number.number})
    assert response.status_code == 200
    assert response.json()["routable"] is False
    assert response.json()["reasons"] == [
        "The number is inactive.",
        "No voice agent or text agent is assigned.",
        "Manual numbers are routed through a SIP trunk, and none is assigned.",
    ]


def test_a_twilio_number_needs_no_trunk_and_a_text_agent_is_enough(api, account, make_number, make_text_agent):
    number = make_number(account, provider="twilio", text_agent=make_text_agent(account))
    body = api.get(URL, {"number": number.number}).json()
    assert (body["routable"], body["reasons"]) == (True, [])


def test_an_unknown_number_or_another_accounts_number_is_404(api, other_account, make_number):
    foreign = make_number(other_account, number="+15550001111")
    for value in ("+15559999999", foreign.number):
        response = api.get(URL, {"number": value})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query", [{}, {"number": ""}, {"number": "abc"}, {"number": "5551234567"}, {"number": "+1555"}]
)
def test_a_missing_or_invalid_number_is_a_422_on_number(api, routed, query):
    response = api.get(URL, query)
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["number"]


def test_a_read_only_token_may_look_up(read_only_api, routed):
    assert read_only_api.get(URL, {"number": routed.number}).status_code == 200


def test_the_dashboard_shows_the_same_verdict(client, owner, account, make_number):
    number = make_number(account, status="inactive")
    client.force_login(owner)
    response = client.get(f"/numbers/{number.id}/")
    assert response.status_code == 200
    assert response.context["routable"] is False
    assert "The number is inactive." in response.content.decode()


def test_an_unencoded_plus_in_the_query_string_still_finds_the_number(api, routed):
    response = api.get(f"{URL}?number=+15551234567")  # the + decodes to a space
    assert response.status_code == 200
    assert response.json()["id"] == routed.id
