"""POST /api/v1/numbers"""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from numbers_app.models import PhoneNumber
from tests.contract import E164_MESSAGE, NUMBER_KEYS, NUMBERS_URL, TIMESTAMP, number_json
from tests.helpers import assert_error, assert_validation_error, next_e164


def test_the_contract_example_request_creates_a_number(api, account, make_voice_agent, make_trunk):
    agent = make_voice_agent(account, name="Sales Agent")
    trunk = make_trunk(account, name="Primary Trunk")

    response = api.post(
        NUMBERS_URL,
        data=f'{{"number": "+15551234567", "provider": "manual", "voice_agent_id": {agent.id}, "trunk_id": {trunk.id}}}',
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    row = PhoneNumber.objects.get(number="+15551234567")
    assert body == number_json(row)
    assert list(body) == NUMBER_KEYS
    assert body["voice_agent_name"] == "Sales Agent"
    assert body["trunk_name"] == "Primary Trunk"
    assert body["text_agent_id"] is None and body["text_agent_name"] is None
    assert TIMESTAMP.fullmatch(body["created_at"])
    assert (row.account, row.voice_agent, row.trunk, row.text_agent) == (account, agent, trunk, None)


def test_the_location_header_is_the_absolute_url_of_the_new_number(api, account):
    response = api.post(NUMBERS_URL, {"number": next_e164()}, format="json")

    assert response.status_code == 201
    row = PhoneNumber.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/numbers/{row.id}"
    assert api.get(response["Location"]).json() == response.json()


def test_a_new_number_is_active_and_manual_by_default(api, account):
    number = next_e164()

    response = api.post(NUMBERS_URL, {"number": number}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["provider"]) == ("active", "manual")
    for kind in ("voice_agent", "text_agent", "trunk"):
        assert body[f"{kind}_id"] is None and body[f"{kind}_name"] is None
    row = PhoneNumber.objects.get(number=number)
    assert (row.status, row.provider, row.account) == ("active", "manual", account)


def test_it_creates_a_twilio_number_with_every_assignment(api, account, make_voice_agent, make_text_agent, make_trunk):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)

    response = api.post(
        NUMBERS_URL,
        {
            "number": next_e164(),
            "provider": "twilio",
            "voice_agent_id": voice.id,
            "text_agent_id": text.id,
            "trunk_id": trunk.id,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["provider"], body["text_agent_name"]) == ("twilio", text.name)
    row = PhoneNumber.objects.get(pk=body["id"])
    assert (row.provider, row.voice_agent, row.text_agent, row.trunk) == ("twilio", voice, text, trunk)


def test_null_ids_create_an_unassigned_number(api, account):
    response = api.post(
        NUMBERS_URL,
        {"number": next_e164(), "voice_agent_id": None, "text_agent_id": None, "trunk_id": None},
        format="json",
    )

    assert response.status_code == 201
    row = PhoneNumber.objects.get(pk=response.json()["id"])
    assert (row.voice_agent_id, row.text_agent_id, row.trunk_id) == (None, None, None)


def test_status_sent_on_create_is_ignored(api, account):
    # A documented decision: new numbers are active, whatever the body says.
    response = api.post(NUMBERS_URL, {"number": next_e164(), "status": "inactive"}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "active"
    assert PhoneNumber.objects.get(pk=response.json()["id"]).status == "active"


def test_read_only_keys_in_the_body_are_ignored(api, account):
    number = next_e164()

    response = api.post(
        NUMBERS_URL,
        {"number": number, "id": 987654, "voice_agent_name": "X", "created_at": "2000-01-01T00:00:00+00:00"},
        format="json",
    )

    assert response.status_code == 201
    row = PhoneNumber.objects.get(number=number)
    assert response.json() == number_json(row)
    assert row.created_at.year != 2000


def test_a_trailing_slash_works_without_a_redirect(api, account):
    number = next_e164()

    response = api.post(f"{NUMBERS_URL}/", {"number": number}, format="json")

    assert response.status_code == 201
    row = PhoneNumber.objects.get(number=number)
    assert response["Location"] == f"http://testserver/api/v1/numbers/{row.id}"


def test_a_teammate_creates_in_the_shared_account(teammate_api, account):
    response = teammate_api.post(NUMBERS_URL, {"number": next_e164()}, format="json")

    assert response.status_code == 201
    assert PhoneNumber.objects.get(pk=response.json()["id"]).account == account


# --- the number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "15551234567",  # no plus
        "+1555abc4567",  # letters
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "+1 555 123 4567",  # spaces: E.164 has none
        "+1-555-123-4567",
        " +15551234567",
        "+05551234567",  # country codes do not start with 0
        "+",
        "++15551234567",
        "+１５５５１２３４５６７",  # full-width digits
    ],
)
def test_a_number_not_in_e164_format_is_422_with_the_contract_message(api, account, value):
    response = api.post(NUMBERS_URL, {"number": value}, format="json")

    fields = assert_validation_error(response, "number")
    assert fields["number"] == [E164_MESSAGE]
    assert not PhoneNumber.objects.exists()


def test_a_blank_number_is_422(api, account):
    response = api.post(NUMBERS_URL, {"number": ""}, format="json")

    assert_validation_error(response, "number")
    assert not PhoneNumber.objects.exists()


def test_a_number_as_a_json_integer_is_a_format_error(api, account):
    response = api.post(NUMBERS_URL, {"number": 15551234567}, format="json")

    assert assert_validation_error(response, "number") == {"number": [E164_MESSAGE]}
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("value", ["+1555", "+15551", "+4412", "+999123456789"])
def test_a_number_not_possible_for_its_country_is_422(api, account, value):
    response = api.post(NUMBERS_URL, {"number": value}, format="json")

    assert_validation_error(response, "number")
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("value", [None, True, ["+15551234567"], {"number": "+15551234567"}])
def test_a_number_that_is_not_a_string_is_422(api, account, value):
    response = api.post(NUMBERS_URL, {"number": value}, format="json")

    assert_validation_error(response, "number")
    assert not PhoneNumber.objects.exists()


def test_a_missing_number_is_422(api, account, make_trunk):
    response = api.post(NUMBERS_URL, {"provider": "manual", "trunk_id": make_trunk(account).id}, format="json")

    assert_validation_error(response, "number")
    assert not PhoneNumber.objects.exists()


def test_a_number_of_the_same_account_is_a_duplicate(api, account, make_number):
    existing = make_number(account)

    response = api.post(NUMBERS_URL, {"number": existing.number}, format="json")

    assert_validation_error(response, "number")
    assert PhoneNumber.objects.filter(number=existing.number).count() == 1


def test_a_number_of_another_account_is_a_duplicate_that_does_not_reveal_the_owner(
    api, account, other_account, make_number
):
    mine = make_number(account)
    theirs = make_number(other_account)

    own_duplicate = api.post(NUMBERS_URL, {"number": mine.number}, format="json")
    foreign_duplicate = api.post(NUMBERS_URL, {"number": theirs.number}, format="json")

    fields = assert_validation_error(foreign_duplicate, "number")
    # Worded exactly as a duplicate in the caller's own account: nothing tells the two apart.
    assert fields == assert_validation_error(own_duplicate, "number")
    message = " ".join(fields["number"])
    assert other_account.name not in message
    assert "account" not in message.lower()
    assert str(other_account.id) not in message
    assert PhoneNumber.objects.get(number=theirs.number).account == other_account
    assert PhoneNumber.objects.count() == 2


# --- assignments ----------------------------------------------------------------------------


@pytest.fixture
def makers(make_voice_agent, make_text_agent, make_trunk):
    return {"voice_agent": make_voice_agent, "text_agent": make_text_agent, "trunk": make_trunk}


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_it_rejects_another_accounts_object_exactly_like_a_missing_one(api, account, other_account, makers, kind):
    foreign = makers[kind](other_account)
    number = next_e164()

    foreign_response = api.post(NUMBERS_URL, {"number": number, f"{kind}_id": foreign.id}, format="json")
    # The same id once it no longer exists: the answer must be byte for byte the same.
    foreign_id = foreign.id
    foreign.delete()
    missing_response = api.post(NUMBERS_URL, {"number": number, f"{kind}_id": foreign_id}, format="json")

    assert_validation_error(foreign_response, f"{kind}_id")
    assert foreign_response.content == missing_response.content
    assert not PhoneNumber.objects.exists()


def test_it_rejects_a_foreign_trunk(api, account, other_account, make_trunk):
    trunk = make_trunk(other_account, name="Globex Trunk")

    response = api.post(NUMBERS_URL, {"number": next_e164(), "trunk_id": trunk.id}, format="json")

    fields = assert_validation_error(response, "trunk_id")
    assert "Globex" not in str(fields)
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
@pytest.mark.parametrize("value", [True, False, 1.5, 1.0, "abc", "", {}, [], "1 ", -1, 0])
def test_an_id_of_the_wrong_type_or_range_is_422(api, account, makers, kind, value):
    makers[kind](account)  # so that an id of 1 or "1" could exist

    response = api.post(NUMBERS_URL, {"number": next_e164(), f"{kind}_id": value}, format="json")

    assert_validation_error(response, f"{kind}_id")
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
@pytest.mark.parametrize("value", [10**30, -(10**30), 2**63, "99999999999999999999999", 1e30])
def test_a_huge_id_is_422_not_500(api, account, kind, value):
    response = api.post(NUMBERS_URL, {"number": next_e164(), f"{kind}_id": value}, format="json")

    assert_validation_error(response, f"{kind}_id")
    assert not PhoneNumber.objects.exists()


def test_every_bad_field_is_named_at_once(api, account):
    response = api.post(
        NUMBERS_URL, {"number": "nope", "provider": "sip", "voice_agent_id": "x", "trunk_id": 10**30}, format="json"
    )

    assert_validation_error(response, "number", "provider", "voice_agent_id", "trunk_id")
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("provider", ["bogus", "MANUAL", "", None, 1])
def test_an_unknown_provider_is_422(api, account, provider):
    response = api.post(NUMBERS_URL, {"number": next_e164(), "provider": provider}, format="json")

    assert_validation_error(response, "provider")
    assert not PhoneNumber.objects.exists()


# --- permissions and bodies -----------------------------------------------------------------


def test_a_read_only_token_gets_403_and_nothing_is_created(read_only_api, account):
    response = read_only_api.post(NUMBERS_URL, {"number": next_e164()}, format="json")

    assert_error(response, 403, "forbidden")
    assert not PhoneNumber.objects.exists()


def test_without_a_token_it_is_401_and_nothing_is_created(anonymous_api, account):
    response = anonymous_api.post(NUMBERS_URL, {"number": next_e164()}, format="json")

    assert_error(response, 401, "unauthenticated")
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("body", ["{not json", '["+15551234567"]', '"+15551234567"', "null"])
def test_a_body_that_is_not_a_json_object_is_400(api, account, body):
    response = api.post(NUMBERS_URL, data=body, content_type="application/json")

    assert_error(response, 400, "bad_request")
    assert not PhoneNumber.objects.exists()


def test_an_empty_body_is_422_for_the_missing_number(api, account):
    response = api.post(NUMBERS_URL, data="", content_type="application/json")

    assert_validation_error(response, "number")
    assert not PhoneNumber.objects.exists()


def test_a_form_encoded_body_is_415(api, account):
    response = api.post(NUMBERS_URL, {"number": next_e164()})  # multipart, the test client's default

    assert_error(response, 415, "unsupported_media_type")
    assert not PhoneNumber.objects.exists()


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_number_leave_one_row_and_no_500(account, api):
    """Several requests race for one DID: the unique constraint decides, the winner gets 201
    and every loser a 422, never a 500. Each thread has its own database connection (Django's
    connections are per thread), so the requests really are concurrent transactions."""
    api.get(NUMBERS_URL)  # record the token's first use now, not inside the race
    token_header = api._credentials["HTTP_AUTHORIZATION"]
    number = next_e164()
    workers = 8
    barrier = threading.Barrier(workers)
    responses, errors = [], []

    def create():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token_header)
        try:
            barrier.wait(timeout=10)
            responses.append(client.post(NUMBERS_URL, {"number": number}, format="json"))
        except Exception as error:  # reported below: a thread cannot fail the test itself
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [422] * (workers - 1), statuses
    for response in responses:
        if response.status_code == 422:
            assert_validation_error(response, "number")
    assert PhoneNumber.objects.filter(number=number).count() == 1
