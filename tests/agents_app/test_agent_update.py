"""PUT/PATCH /api/v1/voice-agents/{id} and /api/v1/text-agents/{id} — API.md §6 (partial
Update), §1, §2."""

import pytest

from tests.contract import AGENT_KEYS
from tests.helpers import assert_error, assert_validation_error

from .kinds import Kind

METHODS = pytest.mark.parametrize("method", ["put", "patch"])


@pytest.fixture
def agent(account, make_agent):
    return make_agent(account, "Sales Agent", description="Takes orders")


def send(client, method: str, kind: Kind, agent_id: int, body):
    return getattr(client, method)(f"{kind.url}/{agent_id}", body, format="json")


def stored(kind: Kind, agent) -> tuple:
    fresh = kind.model.objects.get(pk=agent.pk)
    return (fresh.account_id, fresh.name, fresh.description, fresh.created_at, fresh.updated_at)


@METHODS
def test_it_changes_only_the_name_when_only_the_name_is_sent(api, kind, agent, method):
    response = send(api, method, kind, agent.id, {"name": "Renamed"})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == AGENT_KEYS
    assert (body["id"], body["name"], body["description"]) == (agent.id, "Renamed", "Takes orders")
    fresh = kind.model.objects.get(pk=agent.pk)
    assert (fresh.name, fresh.description) == ("Renamed", "Takes orders")


@METHODS
def test_it_changes_only_the_description_when_only_it_is_sent(api, kind, agent, method):
    response = send(api, method, kind, agent.id, {"description": ""})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("Sales Agent", "")
    fresh = kind.model.objects.get(pk=agent.pk)
    assert (fresh.name, fresh.description) == ("Sales Agent", "")


@METHODS
def test_it_accepts_a_trailing_slash(api, kind, agent, method):
    response = getattr(api, method)(f"{kind.url}/{agent.id}/", {"name": "Slash"}, format="json")

    assert response.status_code == 200
    assert kind.model.objects.get(pk=agent.pk).name == "Slash"


@METHODS
def test_the_response_counts_the_agents_numbers(api, account, kind, agent, make_number, method):
    make_number(account, **{kind.number_field: agent})
    make_number(account, **{kind.number_field: agent})

    response = send(api, method, kind, agent.id, {"description": "Busy"})

    assert response.status_code == 200
    assert response.json()["numbers_count"] == 2


def test_a_client_may_put_back_the_object_it_fetched(api, account, kind, agent, make_number):
    make_number(account, **{kind.number_field: agent})
    fetched = api.get(f"{kind.url}/{agent.id}").json()

    response = api.put(f"{kind.url}/{agent.id}", {**fetched, "numbers_count": 99, "id": agent.id + 1000}, format="json")

    assert response.status_code == 200
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == {
        k: v for k, v in fetched.items() if k != "updated_at"
    }
    fresh = kind.model.objects.get(pk=agent.pk)
    assert (fresh.name, fresh.description) == ("Sales Agent", "Takes orders")


@METHODS
def test_keeping_its_own_name_is_not_a_duplicate(api, kind, agent, method):
    response = send(api, method, kind, agent.id, {"name": "Sales Agent", "description": "Same name"})

    assert response.status_code == 200
    assert kind.model.objects.get(pk=agent.pk).description == "Same name"


@METHODS
@pytest.mark.parametrize("name", ["Support", " Support "])
def test_it_rejects_the_name_of_another_agent_of_the_account(api, account, kind, agent, make_agent, method, name):
    make_agent(account, "Support")
    before = stored(kind, agent)

    response = send(api, method, kind, agent.id, {"name": name, "description": "Changed"})

    fields = assert_validation_error(response, "name")
    assert "already exists" in fields["name"][0]
    assert stored(kind, agent) == before


@METHODS
def test_the_name_of_an_agent_elsewhere_is_fine(
    api, account, other_account, kind, agent, make_agent, make_other_agent, method
):
    make_agent(other_account, "Support")
    make_other_agent(account, "Support")

    response = send(api, method, kind, agent.id, {"name": "Support"})

    assert response.status_code == 200
    assert kind.model.objects.get(pk=agent.pk).name == "Support"


@METHODS
@pytest.mark.parametrize("name", [None, "", "   ", "x" * 101])
def test_it_rejects_an_invalid_name(api, kind, agent, method, name):
    before = stored(kind, agent)

    response = send(api, method, kind, agent.id, {"name": name})

    assert_validation_error(response, "name")
    assert stored(kind, agent) == before


@METHODS
def test_it_rejects_an_overlong_description(api, kind, agent, method):
    before = stored(kind, agent)

    response = send(api, method, kind, agent.id, {"description": "x" * 2001})

    assert_validation_error(response, "description")
    assert stored(kind, agent) == before


@METHODS
def test_the_account_cannot_be_changed(api, account, other_account, kind, agent, method):
    response = send(api, method, kind, agent.id, {"account": other_account.id, "account_id": other_account.id})

    assert response.status_code == 200
    assert kind.model.objects.get(pk=agent.pk).account == account


@METHODS
def test_it_rejects_a_foreign_agent(outsider_api, kind, agent, method):
    before = stored(kind, agent)

    response = send(outsider_api, method, kind, agent.id, {"name": "Hijacked"})

    assert_error(response, 404, "not_found")
    assert stored(kind, agent) == before


@METHODS
def test_a_read_only_token_cannot_update(read_only_api, kind, agent, method):
    before = stored(kind, agent)

    response = send(read_only_api, method, kind, agent.id, {"name": "Read-only rename"})

    assert_error(response, 403, "forbidden")
    assert stored(kind, agent) == before


@METHODS
def test_the_teammates_token_can_update(teammate_api, kind, agent, method):
    response = send(teammate_api, method, kind, agent.id, {"name": "By Bob"})

    assert response.status_code == 200
    assert kind.model.objects.get(pk=agent.pk).name == "By Bob"


@METHODS
def test_a_missing_agent_is_a_404(api, account, kind, make_agent, method):
    gone = make_agent(account)
    gone_id = gone.id
    gone.delete()

    response = send(api, method, kind, gone_id, {"name": "Ghost"})

    assert_error(response, 404, "not_found")
    assert not kind.model.objects.filter(pk=gone_id).exists()
