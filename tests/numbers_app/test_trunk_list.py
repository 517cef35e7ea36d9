"""GET /api/v1/trunks — API.md §5 (List), §3 (Pagination), §1."""

import pytest

from tests.contract import TRUNK_KEYS
from tests.helpers import assert_validation_error

URL = "/api/v1/trunks"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["data"]]


def test_it_lists_the_accounts_trunks_in_the_envelope_by_id(api, account, make_trunk):
    first = make_trunk(account, "Zulu")
    second = make_trunk(
        account,
        "Alpha",
        direction="outbound",
        auth_type="digest",
        host="",
        username="user",
        password="secret-in-list",
        outbound_server="sip.carrier.example:5060",
    )

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "links", "meta"]
    assert ids(response) == [first.id, second.id]
    assert all(list(row) == TRUNK_KEYS for row in body["data"])
    assert body["data"][0]["sip_uri"] == "sip:10.0.0.1@kalem.me"
    assert body["data"][1]["sip_uri"] is None
    assert body["data"][1]["host"] is None
    assert body["data"][0]["username"] is None
    assert body["data"][0]["outbound_server"] is None
    assert body["links"] == {
        "first": "http://testserver/api/v1/trunks?page=1",
        "last": "http://testserver/api/v1/trunks?page=1",
        "prev": None,
        "next": None,
    }
    assert body["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 1,
        "path": "http://testserver/api/v1/trunks",
        "per_page": 15,
        "to": 2,
        "total": 2,
    }


def test_it_never_returns_a_password(api, account, make_trunk):
    make_trunk(account, auth_type="digest", username="user", password="secret-in-list")

    response = api.get(URL)

    assert response.status_code == 200
    assert "password" not in response.json()["data"][0]
    assert b"secret-in-list" not in response.content


def test_it_shows_no_trunk_of_another_account(api, outsider_api, account, other_account, make_trunk):
    mine = make_trunk(account, "Mine")
    theirs = make_trunk(other_account, "Theirs")

    my_response = api.get(URL)
    their_response = outsider_api.get(URL)

    assert my_response.status_code == 200
    assert ids(my_response) == [mine.id]
    assert their_response.status_code == 200
    assert ids(their_response) == [theirs.id]
    assert b"Mine" not in their_response.content


def test_an_outsider_sees_an_empty_list(outsider_api, account, make_trunk):
    make_trunk(account)

    response = outsider_api.get(URL)

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total"] == 0
    assert (response.json()["meta"]["from"], response.json()["meta"]["to"]) == (None, None)
    assert response.json()["meta"]["last_page"] == 1


def test_a_read_only_token_can_list(read_only_api, account, make_trunk):
    trunk = make_trunk(account)

    response = read_only_api.get(URL)

    assert response.status_code == 200
    assert ids(response) == [trunk.id]


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_it_filters_by_direction(api, account, make_trunk, direction):
    inbound = make_trunk(account, direction="inbound")
    outbound = make_trunk(account, direction="outbound", outbound_server="sip.carrier.example")

    response = api.get(URL, {"direction": direction})

    assert response.status_code == 200
    assert ids(response) == [inbound.id if direction == "inbound" else outbound.id]
    assert response.json()["meta"]["total"] == 1


@pytest.mark.parametrize("direction", ["sideways", "INBOUND", "1"])
def test_it_rejects_an_unknown_direction(api, account, make_trunk, direction):
    make_trunk(account)

    response = api.get(URL, {"direction": direction})

    assert_validation_error(response, "direction")


def test_an_empty_direction_does_not_filter(api, account, make_trunk):
    trunk = make_trunk(account)

    response = api.get(URL, {"direction": ""})

    assert response.status_code == 200
    assert ids(response) == [trunk.id]


@pytest.mark.parametrize("search", ["carrier", "CARRIER", "Rrie", "main carrier"])
def test_it_searches_the_name_case_insensitively(api, account, make_trunk, search):
    match = make_trunk(account, "Main Carrier Trunk")
    make_trunk(account, "Office PBX")

    response = api.get(URL, {"search": search})

    assert response.status_code == 200
    assert ids(response) == [match.id]


def test_the_search_matches_names_only(api, account, make_trunk):
    make_trunk(account, "Office", host="carrier.example", username="carrier")

    response = api.get(URL, {"search": "carrier"})

    assert response.status_code == 200
    assert ids(response) == []


def test_the_search_does_not_treat_wildcards_specially(api, account, make_trunk):
    percent = make_trunk(account, "100% uptime")
    make_trunk(account, "1000 uptime")

    response = api.get(URL, {"search": "0%"})

    assert response.status_code == 200
    assert ids(response) == [percent.id]


def test_a_search_with_a_nul_byte_is_a_422_not_a_500(api, account, make_trunk):
    make_trunk(account)

    response = api.get(f"{URL}?search=a%00b")

    assert_validation_error(response, "search")


def test_filters_combine_with_and(api, account, make_trunk):
    wanted = make_trunk(account, "Carrier out", direction="outbound", outbound_server="sip.carrier.example")
    make_trunk(account, "Carrier in", direction="inbound")
    make_trunk(account, "Other out", direction="outbound", outbound_server="sip.carrier.example")

    response = api.get(URL, {"search": "carrier", "direction": "outbound"})

    assert response.status_code == 200
    assert ids(response) == [wanted.id]


def test_it_paginates_and_keeps_the_query_string_in_the_links(api, account, make_trunk):
    trunks = [make_trunk(account, f"Trunk {i}", direction="inbound") for i in range(5)]

    response = api.get(URL, {"direction": "inbound", "per_page": 2, "page": 2})

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [trunks[2].id, trunks[3].id]
    base = "http://testserver/api/v1/trunks?direction=inbound&per_page=2"
    assert body["links"] == {
        "first": f"{base}&page=1",
        "last": f"{base}&page=3",
        "prev": f"{base}&page=1",
        "next": f"{base}&page=3",
    }
    assert body["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 3,
        "path": "http://testserver/api/v1/trunks",
        "per_page": 2,
        "to": 4,
        "total": 5,
    }


def test_a_page_past_the_end_is_empty(api, account, make_trunk):
    make_trunk(account)

    response = api.get(URL, {"page": 5})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["current_page"] == 5
    assert response.json()["meta"]["total"] == 1


def test_per_page_over_100_is_served_as_100(api, account, make_trunk):
    make_trunk(account)

    response = api.get(URL, {"per_page": 1000})

    assert response.status_code == 200
    assert response.json()["meta"]["per_page"] == 100


@pytest.mark.parametrize("param, value", [("per_page", "0"), ("per_page", "abc"), ("page", "-1"), ("page", "1.5")])
def test_it_rejects_a_page_parameter_that_is_not_a_positive_integer(api, param, value):
    response = api.get(URL, {param: value})

    assert_validation_error(response, param)


def test_the_query_count_does_not_grow_with_the_page(api, account, make_trunk, django_assert_num_queries):
    for _ in range(3):
        make_trunk(account)
    api.get(URL)  # the token's first use records last_used_at; keep that write out of the count

    # Measured: 3 queries (token lookup, COUNT, page) on SQLite and PostgreSQL.
    with django_assert_num_queries(3):
        small = api.get(URL, {"per_page": 1})
    with django_assert_num_queries(3):
        large = api.get(URL, {"per_page": 100})

    assert small.status_code == large.status_code == 200
    assert len(small.json()["data"]) == 1
    assert len(large.json()["data"]) == 3
