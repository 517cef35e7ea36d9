"""POST /api/v1/numbers/activate and POST /api/v1/numbers/deactivate"""

from datetime import UTC, datetime

import pytest

from numbers_app.models import PhoneNumber
from tests.contract import E164_MESSAGE, NUMBER_KEYS, number_json
from tests.helpers import assert_error, assert_validation_error

LONG_AGO = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
# action → (the status it sets, the other status)
ACTIONS = {"activate": ("active", "inactive"), "deactivate": ("inactive", "active")}


def url(action: str) -> str:
    return f"/api/v1/numbers/{action}"


def test_the_contract_example_request_deactivates(api, account, make_number):
    number = make_number(account, "+15551234567", status="active")

    response = api.post(url("deactivate"), data='{"number": "+15551234567"}', content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == NUMBER_KEYS
    assert body == number_json(number)
    assert body["status"] == "inactive"
    assert PhoneNumber.objects.get(pk=number.pk).status == "inactive"


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_it_sets_the_status_and_returns_the_number(api, account, make_number, make_voice_agent, action):
    new_status, old_status = ACTIONS[action]
    number = make_number(account, status=old_status, voice_agent=make_voice_agent(account, name="Sales Agent"))
    PhoneNumber.objects.filter(pk=number.pk).update(updated_at=LONG_AGO)

    response = api.post(url(action), {"number": number.number}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body == number_json(number)
    assert (body["status"], body["voice_agent_name"]) == (new_status, "Sales Agent")
    row = PhoneNumber.objects.get(pk=number.pk)
    assert row.status == new_status
    assert row.updated_at > LONG_AGO


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_doing_it_twice_is_a_no_op_that_returns_200(api, account, make_number, action):
    new_status, _ = ACTIONS[action]
    number = make_number(account, status=new_status)
    PhoneNumber.objects.filter(pk=number.pk).update(updated_at=LONG_AGO)

    response = api.post(url(action), {"number": number.number}, format="json")

    assert response.status_code == 200
    assert response.json() == number_json(number)
    assert response.json()["status"] == new_status
    assert response.json()["updated_at"] == "2025-01-15T10:30:00+00:00"
    row = PhoneNumber.objects.get(pk=number.pk)
    assert (row.status, row.updated_at) == (new_status, LONG_AGO)


@pytest.mark.parametrize("action", ["activate", "deactivate"])
@pytest.mark.parametrize(
    "typed", ["+1 (555) 123-4567", "+1 555 123 4567", "+1-555-123-4567", "+1.555.123.4567", " +15551234567 "]
)
def test_it_normalises_common_formatting_to_e164(api, account, make_number, action, typed):
    new_status, old_status = ACTIONS[action]
    number = make_number(account, "+15551234567", status=old_status)

    response = api.post(url(action), {"number": typed}, format="json")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["number"]) == (number.id, "+15551234567")
    assert PhoneNumber.objects.get(pk=number.pk).status == new_status


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_an_unknown_number_is_404(api, account, make_number, action):
    number = make_number(account, "+15551234567", status=ACTIONS[action][1])

    response = api.post(url(action), {"number": "+15557654321"}, format="json")

    assert_error(response, 404, "not_found")
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_another_accounts_number_is_404_and_unchanged(api, other_account, make_number, action):
    theirs = make_number(other_account, status=ACTIONS[action][1])

    foreign_response = api.post(url(action), {"number": theirs.number}, format="json")
    unknown_response = api.post(url(action), {"number": "+15557654321"}, format="json")

    assert_error(foreign_response, 404, "not_found")
    assert foreign_response.content == unknown_response.content
    assert PhoneNumber.objects.get(pk=theirs.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_an_outsider_gets_404_for_the_accounts_number(outsider_api, account, make_number, action):
    number = make_number(account, status=ACTIONS[action][1])

    response = outsider_api.post(url(action), {"number": number.number}, format="json")

    assert_error(response, 404, "not_found")
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
@pytest.mark.parametrize("value", ["5551234567", "+1555abc4567", "+1234567890123456", "(555) 123-4567", "+"])
def test_a_value_that_is_not_a_phone_number_is_422(api, account, make_number, action, value):
    number = make_number(account, "+15551234567", status=ACTIONS[action][1])

    response = api.post(url(action), {"number": value}, format="json")

    assert assert_validation_error(response, "number") == {"number": [E164_MESSAGE]}
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
@pytest.mark.parametrize(
    "body", [{}, {"number": None}, {"number": 15551234567}, {"number": ["+15551234567"]}, {"number": "+1555"}]
)
def test_a_missing_or_wrong_typed_or_impossible_number_is_422(api, account, make_number, action, body):
    number = make_number(account, "+15551234567", status=ACTIONS[action][1])

    response = api.post(url(action), body, format="json")

    assert_validation_error(response, "number")
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405_with_an_allow_header(api, account, make_number, action, method):
    number = make_number(account, status=ACTIONS[action][1])

    response = getattr(api, method)(url(action))

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in [m.strip() for m in response["Allow"].split(",")]
    assert "GET" not in [m.strip() for m in response["Allow"].split(",")]
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_a_read_only_token_gets_403_and_nothing_changes(read_only_api, account, make_number, action):
    number = make_number(account, status=ACTIONS[action][1])

    response = read_only_api.post(url(action), {"number": number.number}, format="json")

    assert_error(response, 403, "forbidden")
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][1]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_a_trailing_slash_works_without_a_redirect(api, account, make_number, action):
    number = make_number(account, status=ACTIONS[action][1])

    response = api.post(f"{url(action)}/", {"number": number.number}, format="json")

    assert response.status_code == 200
    assert PhoneNumber.objects.get(pk=number.pk).status == ACTIONS[action][0]
