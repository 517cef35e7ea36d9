"""GET /api/v1/voice-agents/{id} and /api/v1/text-agents/{id} — API.md §6 (Get), §1."""

import pytest

from tests.contract import AGENT_KEYS, iso
from tests.helpers import assert_error


def assert_not_found(response) -> None:
    assert_error(response, 404, "not_found")
    assert response.json() == {"error": {"code": "not_found", "message": "The requested resource was not found."}}


def test_it_returns_the_agent_object(api, account, kind, make_agent):
    agent = make_agent(account, "Sales Agent", description="Takes orders")
    agent.refresh_from_db()

    response = api.get(f"{kind.url}/{agent.id}")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == AGENT_KEYS
    assert body == {
        "id": agent.id,
        "name": "Sales Agent",
        "description": "Takes orders",
        "numbers_count": 0,
        "created_at": iso(agent.created_at),
        "updated_at": iso(agent.updated_at),
    }


def test_it_accepts_a_trailing_slash(api, account, kind, make_agent):
    agent = make_agent(account)

    response = api.get(f"{kind.url}/{agent.id}/")

    assert response.status_code == 200
    assert response.json()["id"] == agent.id


def test_numbers_count_counts_the_numbers_assigned_to_the_agent(
    api, account, kind, make_agent, make_other_agent, make_number
):
    agent = make_agent(account)
    other_same_kind = make_agent(account)
    other_kind = make_other_agent(account)
    make_number(account, **{kind.number_field: agent})
    make_number(account, status="inactive", **{kind.number_field: agent, kind.other_number_field: other_kind})
    make_number(account, **{kind.number_field: other_same_kind})
    make_number(account, **{kind.other_number_field: other_kind})

    response = api.get(f"{kind.url}/{agent.id}")

    assert response.status_code == 200
    assert response.json()["numbers_count"] == 2


@pytest.mark.parametrize("client", ["teammate_api", "read_only_api"])
def test_every_token_of_the_account_can_read_it(request, account, kind, make_agent, client):
    agent = make_agent(account)

    response = request.getfixturevalue(client).get(f"{kind.url}/{agent.id}")

    assert response.status_code == 200
    assert response.json()["id"] == agent.id


def test_it_rejects_a_foreign_agent(outsider_api, account, kind, make_agent):
    agent = make_agent(account, "Private agent")

    response = outsider_api.get(f"{kind.url}/{agent.id}")

    assert_not_found(response)
    assert b"Private agent" not in response.content


def test_a_foreign_agent_looks_like_a_missing_one(api, account, other_account, kind, make_agent):
    foreign = make_agent(other_account)
    missing = make_agent(account)
    missing_id = missing.id
    missing.delete()

    foreign_response = api.get(f"{kind.url}/{foreign.id}")
    missing_response = api.get(f"{kind.url}/{missing_id}")

    assert_not_found(foreign_response)
    assert_not_found(missing_response)
    assert foreign_response.content == missing_response.content


def test_an_agent_of_the_other_kind_is_not_found_here(api, account, kind, make_agent, make_other_agent):
    other = make_other_agent(account)
    # Make sure no agent of this kind happens to have the same id.
    kind.model.objects.filter(pk=other.pk).delete()

    response = api.get(f"{kind.url}/{other.id}")

    assert_not_found(response)


@pytest.mark.parametrize("agent_id", ["0", "abc", "99999999999999999999999"])
def test_an_id_that_cannot_exist_is_a_404(api, kind, agent_id):
    response = api.get(f"{kind.url}/{agent_id}")

    assert_not_found(response)


def test_an_anonymous_request_is_refused(anonymous_api, account, kind, make_agent):
    agent = make_agent(account)

    response = anonymous_api.get(f"{kind.url}/{agent.id}")

    assert_error(response, 401, "unauthenticated")
