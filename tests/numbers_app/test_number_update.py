"""PUT and PATCH /api/v1/numbers/{id}: both partial."""

from datetime import UTC, datetime

import pytest

from numbers_app import services
from numbers_app.models import PhoneNumber
from tests.audit import TEST_ACTOR, events_of
from tests.contract import E164_MESSAGE, NUMBER_KEYS, number_json, number_url
from tests.helpers import assert_error, assert_validation_error

LONG_AGO = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)


@pytest.fixture(params=["put", "patch"])
def send(request, api):
    """PUT or PATCH with the owner's token: the contract makes them behave the same."""
    method = getattr(api, request.param)

    def send(pk, body, path_suffix=""):
        return method(f"{number_url(pk)}{path_suffix}", body, format="json")

    return send


@pytest.fixture
def makers(make_voice_agent, make_text_agent, make_trunk):
    return {"voice_agent": make_voice_agent, "text_agent": make_text_agent, "trunk": make_trunk}


def age(number) -> PhoneNumber:
    """Backdate the timestamps, so that a new updated_at is visible at once."""
    PhoneNumber.objects.filter(pk=number.pk).update(created_at=LONG_AGO, updated_at=LONG_AGO)
    number.refresh_from_db()
    return number


def test_the_contract_example_request_reassigns_the_voice_agent(
    api, account, make_number, make_voice_agent, make_trunk
):
    old, new = make_voice_agent(account), make_voice_agent(account, name="Support Agent")
    trunk = make_trunk(account)
    number = make_number(account, voice_agent=old, trunk=trunk, provider="twilio")

    response = api.put(number_url(number.id), data=f'{{"voice_agent_id": {new.id}}}', content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == NUMBER_KEYS
    assert body == number_json(number)
    assert (body["voice_agent_id"], body["voice_agent_name"]) == (new.id, "Support Agent")
    number.refresh_from_db()
    # Partial: what was not sent is unchanged.
    assert (number.voice_agent, number.trunk, number.provider, number.status) == (new, trunk, "twilio", "active")


def test_only_the_fields_sent_change(send, account, make_number, make_voice_agent, make_text_agent, make_trunk):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    number = make_number(account, voice_agent=voice, text_agent=text, trunk=trunk, provider="twilio")

    response = send(number.id, {"status": "inactive"})

    assert response.status_code == 200
    assert response.json()["status"] == "inactive"
    number.refresh_from_db()
    assert (number.status, number.provider) == ("inactive", "twilio")
    assert (number.voice_agent, number.text_agent, number.trunk) == (voice, text, trunk)


@pytest.mark.parametrize(
    "field, old, new",
    [
        ("status", "active", "inactive"),
        ("status", "inactive", "active"),
        ("provider", "manual", "twilio"),
        ("provider", "twilio", "manual"),
    ],
)
def test_it_changes_status_and_provider(send, account, make_number, field, old, new):
    number = make_number(account, **{field: old})

    response = send(number.id, {field: new})

    assert response.status_code == 200
    assert response.json()[field] == new
    assert response.json() == number_json(number)
    assert getattr(PhoneNumber.objects.get(pk=number.pk), field) == new


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_it_assigns_an_object_of_the_account(send, account, make_number, makers, kind):
    target = makers[kind](account, name="Target")
    number = make_number(account)

    response = send(number.id, {f"{kind}_id": target.id})

    assert response.status_code == 200
    assert (response.json()[f"{kind}_id"], response.json()[f"{kind}_name"]) == (target.id, "Target")
    assert getattr(PhoneNumber.objects.get(pk=number.pk), kind) == target


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_null_unassigns(send, account, make_number, makers, kind):
    number = make_number(account, **{kind: makers[kind](account)})

    response = send(number.id, {f"{kind}_id": None})

    assert response.status_code == 200
    assert response.json()[f"{kind}_id"] is None
    assert response.json()[f"{kind}_name"] is None
    assert getattr(PhoneNumber.objects.get(pk=number.pk), f"{kind}_id") is None


def test_a_different_number_is_422_on_number(send, account, make_number):
    number = make_number(account, "+15551234567")

    response = send(number.id, {"number": "+15557654321", "status": "inactive"})

    assert_validation_error(response, "number")
    number.refresh_from_db()
    assert (number.number, number.status) == ("+15551234567", "active")


def test_a_malformed_number_is_422_on_number(send, account, make_number):
    number = make_number(account, "+15551234567")

    response = send(number.id, {"number": "5551234567"})

    assert assert_validation_error(response, "number") == {"number": [E164_MESSAGE]}
    assert PhoneNumber.objects.get(pk=number.pk).number == "+15551234567"


def test_another_accounts_number_is_still_just_a_different_number(send, account, other_account, make_number):
    number = make_number(account)
    theirs = make_number(other_account)

    response = send(number.id, {"number": theirs.number})

    assert_validation_error(response, "number")
    assert PhoneNumber.objects.get(pk=theirs.pk).account == other_account
    assert PhoneNumber.objects.get(pk=number.pk).number == number.number


def test_the_current_number_is_accepted(send, account, make_number):
    number = make_number(account, "+15551234567")

    response = send(number.id, {"number": "+15551234567", "provider": "twilio"})

    assert response.status_code == 200
    assert (response.json()["number"], response.json()["provider"]) == ("+15551234567", "twilio")
    number.refresh_from_db()
    assert (number.number, number.provider) == ("+15551234567", "twilio")


def test_a_fetched_object_can_be_put_back_with_a_change(
    api, account, make_number, make_voice_agent, make_text_agent, make_trunk
):
    number = make_number(
        account, voice_agent=make_voice_agent(account), text_agent=make_text_agent(account), trunk=make_trunk(account)
    )
    fetched = api.get(number_url(number.id)).json()
    # Read-only keys are sent back too, some of them edited: they are ignored.
    body = {
        **fetched,
        "status": "inactive",
        "id": fetched["id"] + 1000,
        "voice_agent_name": "Someone Else",
        "created_at": "2000-01-01T00:00:00+00:00",
    }

    response = api.put(number_url(number.id), body, format="json")

    assert response.status_code == 200
    assert response.json() == {**number_json(number), "status": "inactive"}
    assert response.json()["id"] == number.id
    number.refresh_from_db()
    assert number.status == "inactive"
    assert number.voice_agent.name != "Someone Else"
    assert number.created_at.year != 2000


def test_an_unchanged_put_back_changes_nothing(api, account, make_number, make_trunk):
    number = age(make_number(account, trunk=make_trunk(account)))
    fetched = api.get(number_url(number.id)).json()

    response = api.put(number_url(number.id), fetched, format="json")

    assert response.status_code == 200
    assert response.json() == fetched
    assert PhoneNumber.objects.get(pk=number.pk).updated_at == LONG_AGO


def test_updated_at_changes_on_a_real_change(send, account, make_number):
    number = age(make_number(account))

    response = send(number.id, {"provider": "twilio"})

    assert response.status_code == 200
    assert response.json()["updated_at"] != "2025-01-15T10:30:00+00:00"
    assert response.json()["created_at"] == "2025-01-15T10:30:00+00:00"
    assert PhoneNumber.objects.get(pk=number.pk).updated_at > LONG_AGO


def test_updated_at_stays_when_the_values_sent_are_the_current_ones(send, account, make_number, make_voice_agent):
    agent = make_voice_agent(account)
    number = age(make_number(account, voice_agent=agent, status="active"))

    response = send(number.id, {"status": "active", "voice_agent_id": agent.id, "text_agent_id": None})

    assert response.status_code == 200
    assert response.json()["updated_at"] == "2025-01-15T10:30:00+00:00"
    assert PhoneNumber.objects.get(pk=number.pk).updated_at == LONG_AGO


def test_an_empty_body_changes_nothing(send, account, make_number):
    number = age(make_number(account))

    response = send(number.id, {})

    assert response.status_code == 200
    assert response.json() == number_json(number)
    assert PhoneNumber.objects.get(pk=number.pk).updated_at == LONG_AGO


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_another_accounts_object_is_422_worded_like_a_missing_one(
    send, account, other_account, make_number, makers, kind
):
    mine = makers[kind](account)
    number = make_number(account, **{kind: mine})
    foreign = makers[kind](other_account)

    foreign_response = send(number.id, {f"{kind}_id": foreign.id})
    foreign_id = foreign.id
    foreign.delete()
    missing_response = send(number.id, {f"{kind}_id": foreign_id})

    assert_validation_error(foreign_response, f"{kind}_id")
    assert foreign_response.content == missing_response.content
    assert getattr(PhoneNumber.objects.get(pk=number.pk), kind) == mine


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "bogus"}, "status"),
        ({"status": None}, "status"),
        ({"provider": "sip"}, "provider"),
        ({"voice_agent_id": "abc"}, "voice_agent_id"),
        ({"text_agent_id": True}, "text_agent_id"),
        ({"trunk_id": 1.5}, "trunk_id"),
        ({"trunk_id": {}}, "trunk_id"),
        ({"trunk_id": 10**30}, "trunk_id"),
        ({"number": None}, "number"),
    ],
)
def test_an_invalid_value_is_422_and_changes_nothing(send, account, make_number, make_trunk, body, field):
    trunk = make_trunk(account)
    number = age(make_number(account, trunk=trunk))

    response = send(number.id, body)

    assert_validation_error(response, field)
    number.refresh_from_db()
    assert (number.status, number.provider, number.trunk, number.updated_at) == ("active", "manual", trunk, LONG_AGO)


def test_one_bad_field_rejects_the_whole_update(send, account, make_number):
    number = make_number(account)

    response = send(number.id, {"status": "inactive", "provider": "bogus"})

    assert_validation_error(response, "provider")
    assert PhoneNumber.objects.get(pk=number.pk).status == "active"


def test_an_outsider_gets_404_and_nothing_changes(outsider_api, account, make_number):
    number = make_number(account)

    for method in (outsider_api.put, outsider_api.patch):
        response = method(number_url(number.id), {"status": "inactive"}, format="json")
        assert_error(response, 404, "not_found")

    assert PhoneNumber.objects.get(pk=number.pk).status == "active"


def test_an_unknown_or_impossible_id_is_404(send, account, make_number):
    number = make_number(account)

    for pk in (number.id + 1000, 0, 99999999999999999999999):
        assert_error(send(pk, {"status": "inactive"}), 404, "not_found")

    assert PhoneNumber.objects.get(pk=number.pk).status == "active"


def test_a_read_only_token_gets_403_and_nothing_changes(read_only_api, account, make_number):
    number = make_number(account)

    response = read_only_api.patch(number_url(number.id), {"status": "inactive"}, format="json")

    assert_error(response, 403, "forbidden")
    assert PhoneNumber.objects.get(pk=number.pk).status == "active"


def test_a_trailing_slash_works_without_a_redirect(send, account, make_number):
    number = make_number(account)

    response = send(number.id, {"status": "inactive"}, path_suffix="/")

    assert response.status_code == 200
    assert PhoneNumber.objects.get(pk=number.pk).status == "inactive"


def test_events_say_what_the_stored_row_held_not_a_stale_copy(account, make_number, make_voice_agent):
    first, second, third = (make_voice_agent(account, name) for name in ("A", "B", "C"))
    number = make_number(account, voice_agent=first)
    stale_copy = PhoneNumber.objects.get(pk=number.pk)
    services.number_update(actor=TEST_ACTOR, number=number, voice_agent=second)

    services.number_update(actor=TEST_ACTOR, number=stale_copy, voice_agent=third)

    assert [(before["name"], after["name"]) for _, _, before, after, *_ in events_of(number.pk)] == [
        ("A", "B"),
        ("B", "C"),
    ]
