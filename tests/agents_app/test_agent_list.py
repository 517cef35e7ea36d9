"""GET /api/v1/voice-agents and /api/v1/text-agents — API.md §6 (List), §3 (Pagination)."""

import pytest

from tests.contract import AGENT_KEYS, iso
from tests.helpers import assert_validation_error


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["data"]]


def test_it_lists_the_accounts_agents_in_the_envelope_by_id(api, account, kind, make_agent):
    first = make_agent(account, "Zulu", description="Answers the phone")
    second = make_agent(account, "Alpha")

    response = api.get(kind.url)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "links", "meta"]
    assert all(list(row) == AGENT_KEYS for row in body["data"])
    first.refresh_from_db()
    second.refresh_from_db()
    assert body["data"] == [
        {
            "id": first.id,
            "name": "Zulu",
            "description": "Answers the phone",
            "numbers_count": 0,
            "created_at": iso(first.created_at),
            "updated_at": iso(first.updated_at),
        },
        {
            "id": second.id,
            "name": "Alpha",
            "description": "",
            "numbers_count": 0,
            "created_at": iso(second.created_at),
            "updated_at": iso(second.updated_at),
        },
    ]
    assert body["links"] == {
        "first": f"http://testserver{kind.url}?page=1",
        "last": f"http://testserver{kind.url}?page=1",
        "prev": None,
        "next": None,
    }
    assert body["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 1,
        "path": f"http://testserver{kind.url}",
        "per_page": 15,
        "to": 2,
        "total": 2,
    }


def test_numbers_count_counts_the_numbers_assigned_to_each_agent(
    api, account, other_account, kind, make_agent, make_other_agent, make_number
):
    busy = make_agent(account)
    idle = make_agent(account)
    other_kind = make_other_agent(account)
    make_number(account, **{kind.number_field: busy})
    make_number(account, **{kind.number_field: busy, kind.other_number_field: other_kind})
    make_number(account, status="inactive", **{kind.number_field: busy})
    make_number(account, **{kind.other_number_field: other_kind})
    make_number(account)

    response = api.get(kind.url)

    assert response.status_code == 200
    assert {row["id"]: row["numbers_count"] for row in response.json()["data"]} == {busy.id: 3, idle.id: 0}


def test_it_lists_only_its_own_kind(api, account, kind, make_agent, make_other_agent):
    mine = make_agent(account, "Same name")
    make_other_agent(account, "Same name")

    response = api.get(kind.url)

    assert response.status_code == 200
    assert ids(response) == [mine.id]


def test_it_shows_no_agent_of_another_account(api, outsider_api, account, other_account, kind, make_agent):
    mine = make_agent(account, "Mine")
    theirs = make_agent(other_account, "Theirs")

    my_response = api.get(kind.url)
    their_response = outsider_api.get(kind.url)

    assert my_response.status_code == 200
    assert ids(my_response) == [mine.id]
    assert their_response.status_code == 200
    assert ids(their_response) == [theirs.id]
    assert b"Mine" not in their_response.content


def test_an_outsider_sees_an_empty_list(outsider_api, account, kind, make_agent):
    make_agent(account)

    response = outsider_api.get(kind.url)

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total"] == 0


def test_a_read_only_token_can_list(read_only_api, account, kind, make_agent):
    agent = make_agent(account)

    response = read_only_api.get(kind.url)

    assert response.status_code == 200
    assert ids(response) == [agent.id]


@pytest.mark.parametrize("search", ["sales", "SALES", "ales ag", "Sales Agent"])
def test_it_searches_the_name_case_insensitively(api, account, kind, make_agent, search):
    match = make_agent(account, "Sales Agent")
    make_agent(account, "Support", description="sales questions go elsewhere")

    response = api.get(kind.url, {"search": search})

    assert response.status_code == 200
    assert ids(response) == [match.id]
    assert response.json()["meta"]["total"] == 1


def test_a_search_that_matches_nothing_is_an_empty_page(api, account, kind, make_agent):
    make_agent(account, "Sales Agent")

    response = api.get(kind.url, {"search": "billing"})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total"] == 0


def test_a_search_with_a_nul_byte_is_a_422_not_a_500(api, account, kind, make_agent):
    make_agent(account)

    response = api.get(f"{kind.url}?search=a%00b")

    assert_validation_error(response, "search")


def test_it_paginates_and_keeps_the_query_string_in_the_links(api, account, kind, make_agent):
    agents = [make_agent(account, f"Agent {i}") for i in range(5)]

    response = api.get(kind.url, {"search": "agent", "per_page": 2, "page": 3})

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [agents[4].id]
    base = f"http://testserver{kind.url}?search=agent&per_page=2"
    assert body["links"] == {
        "first": f"{base}&page=1",
        "last": f"{base}&page=3",
        "prev": f"{base}&page=2",
        "next": None,
    }
    assert (body["meta"]["from"], body["meta"]["to"], body["meta"]["total"]) == (5, 5, 5)


@pytest.mark.parametrize("param, value", [("per_page", "0"), ("page", "x")])
def test_it_rejects_a_page_parameter_that_is_not_a_positive_integer(api, kind, param, value):
    response = api.get(kind.url, {param: value})

    assert_validation_error(response, param)


def test_the_query_count_does_not_grow_with_the_page(
    api, account, kind, make_agent, make_number, django_assert_num_queries
):
    for _ in range(3):
        agent = make_agent(account)
        make_number(account, **{kind.number_field: agent})
    api.get(kind.url)  # the token's first use records last_used_at; keep that write out of the count

    # Measured: 3 queries (token lookup, COUNT, page with numbers_count annotated) on SQLite and PostgreSQL.
    with django_assert_num_queries(3):
        small = api.get(kind.url, {"per_page": 1})
    with django_assert_num_queries(3):
        large = api.get(kind.url, {"per_page": 100})

    assert small.status_code == large.status_code == 200
    assert len(small.json()["data"]) == 1
    assert [row["numbers_count"] for row in large.json()["data"]] == [1, 1, 1]
