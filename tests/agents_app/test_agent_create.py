"""POST /api/v1/voice-agents and /api/v1/text-agents — API.md §6 (Create), §1, §2."""

import pytest

from tests.contract import AGENT_KEYS, TIMESTAMP
from tests.helpers import assert_error, assert_validation_error


def test_it_creates_an_agent(api, account, kind):
    response = api.post(kind.url, {"name": "Sales Agent", "description": "Takes orders"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert list(body) == AGENT_KEYS
    agent = kind.model.objects.get()
    assert body["id"] == agent.id
    assert (body["name"], body["description"], body["numbers_count"]) == ("Sales Agent", "Takes orders", 0)
    assert TIMESTAMP.fullmatch(body["created_at"]) and TIMESTAMP.fullmatch(body["updated_at"])
    assert response["Location"] == f"http://testserver{kind.url}/{agent.id}"
    assert (agent.account, agent.name, agent.description) == (account, "Sales Agent", "Takes orders")
    assert not kind.other_model.objects.exists()


def test_the_description_is_optional(api, kind):
    response = api.post(kind.url, {"name": "Sales Agent"}, format="json")

    assert response.status_code == 201
    assert response.json()["description"] == ""
    assert kind.model.objects.get().description == ""


def test_it_accepts_a_trailing_slash(api, kind):
    response = api.post(f"{kind.url}/", {"name": "Slash"}, format="json")

    assert response.status_code == 201
    assert kind.model.objects.get().name == "Slash"


def test_it_creates_the_agent_in_the_tokens_account_whatever_the_body_says(teammate_api, account, other_account, kind):
    response = teammate_api.post(
        kind.url, {"name": "Bob's agent", "account": other_account.id, "account_id": other_account.id}, format="json"
    )

    assert response.status_code == 201
    assert kind.model.objects.get(pk=response.json()["id"]).account == account


def test_read_only_keys_sent_are_ignored(api, kind):
    response = api.post(
        kind.url,
        {"name": "Sales", "id": 424242, "numbers_count": 7, "created_at": "2000-01-01T00:00:00+00:00"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["numbers_count"] == 0
    assert body["created_at"] != "2000-01-01T00:00:00+00:00"
    assert body["id"] == kind.model.objects.get().id


@pytest.mark.parametrize("name", ["absent", None, "", "   ", "\t\n"])
def test_it_requires_a_name(api, kind, name):
    body = {"description": "No name"} if name == "absent" else {"name": name, "description": "No name"}

    response = api.post(kind.url, body, format="json")

    assert_validation_error(response, "name")
    assert not kind.model.objects.exists()


def test_it_trims_the_name(api, kind):
    response = api.post(kind.url, {"name": "  Sales Agent  "}, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "Sales Agent"
    assert kind.model.objects.get().name == "Sales Agent"


def test_it_rejects_a_name_over_100_characters(api, kind):
    response = api.post(kind.url, {"name": "x" * 101}, format="json")

    assert_validation_error(response, "name")
    assert not kind.model.objects.exists()


@pytest.mark.parametrize("name", [["Sales"], {"name": "Sales"}, True])
def test_it_rejects_a_name_that_is_not_a_string(api, kind, name):
    response = api.post(kind.url, {"name": name}, format="json")

    assert_validation_error(response, "name")
    assert not kind.model.objects.exists()


def test_it_rejects_a_description_over_2000_characters(api, kind):
    response = api.post(kind.url, {"name": "Sales", "description": "x" * 2001}, format="json")

    assert_validation_error(response, "description")
    assert not kind.model.objects.exists()


@pytest.mark.parametrize("name", ["Sales Agent", "  Sales Agent "])
def test_it_rejects_a_duplicate_name_in_the_account(api, account, kind, make_agent, name):
    existing = make_agent(account, "Sales Agent")

    response = api.post(kind.url, {"name": name}, format="json")

    fields = assert_validation_error(response, "name")
    assert "already exists" in fields["name"][0]
    assert list(kind.model.objects.values_list("id", flat=True)) == [existing.id]


def test_the_same_name_in_another_account_is_fine(api, account, other_account, kind, make_agent):
    theirs = make_agent(other_account, "Sales Agent")

    response = api.post(kind.url, {"name": "Sales Agent"}, format="json")

    assert response.status_code == 201
    mine = kind.model.objects.get(pk=response.json()["id"])
    assert (mine.account, mine.name) == (account, "Sales Agent")
    assert mine.pk != theirs.pk
    assert kind.model.objects.get(pk=theirs.pk).account == other_account


def test_the_same_name_in_the_other_kind_is_fine(api, account, kind, make_other_agent):
    make_other_agent(account, "Sales Agent")

    response = api.post(kind.url, {"name": "Sales Agent"}, format="json")

    assert response.status_code == 201
    assert kind.model.objects.get(pk=response.json()["id"]).name == "Sales Agent"
    assert kind.other_model.objects.filter(account=account, name="Sales Agent").count() == 1


def test_a_read_only_token_cannot_create_an_agent(read_only_api, kind):
    response = read_only_api.post(kind.url, {"name": "Sales Agent"}, format="json")

    assert_error(response, 403, "forbidden")
    assert not kind.model.objects.exists()


def test_an_anonymous_request_cannot_create_an_agent(db, anonymous_api, kind):
    response = anonymous_api.post(kind.url, {"name": "Sales Agent"}, format="json")

    assert_error(response, 401, "unauthenticated")
    assert not kind.model.objects.exists()


def test_it_rejects_a_body_that_is_not_a_json_object(api, kind):
    response = api.post(kind.url, '"Sales Agent"', content_type="application/json")

    assert_error(response, 400, "bad_request")
    assert not kind.model.objects.exists()
