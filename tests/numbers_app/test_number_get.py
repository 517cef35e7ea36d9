"""GET /api/v1/numbers/{id}"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from numbers_app.models import PhoneNumber
from tests.contract import NUMBER_KEYS, TIMESTAMP, number_json, number_url
from tests.helpers import assert_error


def test_it_returns_the_number_object(api, account, make_number, make_voice_agent, make_trunk):
    agent = make_voice_agent(account, name="Sales Agent")
    trunk = make_trunk(account, name="Primary Trunk")
    number = make_number(account, "+15551234567", voice_agent=agent, trunk=trunk)

    response = api.get(number_url(number.id), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body == number_json(number)
    assert body["number"] == "+15551234567"
    assert body["provider"] == "manual"
    assert body["status"] == "active"
    assert (body["voice_agent_id"], body["voice_agent_name"]) == (agent.id, "Sales Agent")
    assert (body["text_agent_id"], body["text_agent_name"]) == (None, None)
    assert (body["trunk_id"], body["trunk_name"]) == (trunk.id, "Primary Trunk")


def test_the_object_has_exactly_the_contract_keys_in_order(api, account, make_number):
    number = make_number(account)

    response = api.get(number_url(number.id))

    assert response.status_code == 200
    # Compared as lists, so that both a missing or extra key and a different order fail.
    assert list(response.json()) == NUMBER_KEYS


def test_timestamps_are_utc_whole_seconds_with_an_explicit_offset(api, account, make_number):
    number = make_number(account)
    created = datetime(2025, 1, 15, 10, 30, 0, 987654, tzinfo=UTC)
    # Stored in another zone's terms; the API must still answer in UTC.
    updated = datetime(2025, 1, 16, 1, 2, 3, 400000, tzinfo=timezone(timedelta(hours=5)))
    PhoneNumber.objects.filter(pk=number.pk).update(created_at=created, updated_at=updated)

    response = api.get(number_url(number.id))

    assert response.status_code == 200
    body = response.json()
    assert body["created_at"] == "2025-01-15T10:30:00+00:00"
    assert body["updated_at"] == "2025-01-15T20:02:03+00:00"
    assert TIMESTAMP.fullmatch(body["created_at"])


def test_names_follow_the_assigned_objects(api, account, make_number, make_voice_agent, make_text_agent, make_trunk):
    voice = make_voice_agent(account, name="Sales Agent")
    text = make_text_agent(account, name="Chat Agent")
    trunk = make_trunk(account, name="Primary Trunk")
    number = make_number(account, voice_agent=voice, text_agent=text, trunk=trunk)
    voice.name, text.name, trunk.name = "Renamed Voice", "Renamed Text", "Renamed Trunk"
    voice.save()
    text.save()
    trunk.save()

    response = api.get(number_url(number.id))

    assert response.status_code == 200
    body = response.json()
    assert body["voice_agent_name"] == "Renamed Voice"
    assert body["text_agent_name"] == "Renamed Text"
    assert body["trunk_name"] == "Renamed Trunk"


def test_names_are_null_when_nothing_is_assigned(api, account, make_number):
    number = make_number(account)

    response = api.get(number_url(number.id))

    assert response.status_code == 200
    body = response.json()
    for kind in ("voice_agent", "text_agent", "trunk"):
        assert body[f"{kind}_id"] is None
        assert body[f"{kind}_name"] is None


def test_names_become_null_when_the_assigned_object_is_deleted(api, account, make_number, make_voice_agent):
    agent = make_voice_agent(account)
    number = make_number(account, voice_agent=agent)
    agent.delete()

    response = api.get(number_url(number.id))

    assert response.status_code == 200
    assert response.json()["voice_agent_id"] is None
    assert response.json()["voice_agent_name"] is None


def test_a_teammate_sees_the_accounts_number(teammate_api, account, make_number):
    number = make_number(account)

    response = teammate_api.get(number_url(number.id))

    assert response.status_code == 200
    assert response.json()["id"] == number.id


def test_a_read_only_token_may_read(read_only_api, account, make_number):
    number = make_number(account)

    response = read_only_api.get(number_url(number.id))

    assert response.status_code == 200
    assert response.json() == number_json(number)


def test_an_outsider_gets_404(outsider_api, account, make_number):
    number = make_number(account)

    response = outsider_api.get(number_url(number.id))

    error = assert_error(response, 404, "not_found")
    assert number.number not in error["message"]


def test_another_accounts_number_is_404_like_one_that_does_not_exist(api, other_account, make_number):
    foreign = make_number(other_account)
    gone = make_number(other_account)
    gone_id = gone.id
    gone.delete()

    foreign_response = api.get(number_url(foreign.id))
    missing_response = api.get(number_url(gone_id))

    assert_error(foreign_response, 404, "not_found")
    assert foreign_response.json() == missing_response.json()


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "-1", "1e3", "%20"])
def test_a_non_integer_id_is_404(api, account, make_number, raw_id):
    make_number(account)

    response = api.get(f"/api/v1/numbers/{raw_id}")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("raw_id", ["0", "99999999999999999999999", str(2**63), "9" * 5000])
def test_an_id_no_row_can_have_is_404(api, account, make_number, raw_id):
    make_number(account)

    response = api.get(f"/api/v1/numbers/{raw_id}")

    assert_error(response, 404, "not_found")


def test_a_trailing_slash_works(api, account, make_number):
    number = make_number(account)

    response = api.get(f"{number_url(number.id)}/")

    assert response.status_code == 200
    assert response.json() == number_json(number)


def test_without_a_token_it_is_401(anonymous_api, account, make_number):
    number = make_number(account)

    response = anonymous_api.get(number_url(number.id))

    assert_error(response, 401, "unauthenticated")
