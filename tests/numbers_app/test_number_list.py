"""GET /api/v1/numbers: filters, pagination envelope, ordering and query count."""

import pytest

from numbers_app.models import PhoneNumber
from tests.contract import NUMBER_KEYS, NUMBERS_URL, number_json
from tests.helpers import assert_error, assert_validation_error

BASE = "http://testserver/api/v1/numbers"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["data"]]


# --- the envelope and the objects in it ---------------------------------------------------


def test_the_contract_example_request_lists_active_numbers(api, account, make_number):
    active = make_number(account, status="active")
    make_number(account, status="inactive")

    response = api.get(f"{NUMBERS_URL}?status=active", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "data": [number_json(active)],
        "links": {
            "first": f"{BASE}?status=active&page=1",
            "last": f"{BASE}?status=active&page=1",
            "prev": None,
            "next": None,
        },
        "meta": {
            "current_page": 1,
            "from": 1,
            "last_page": 1,
            "path": BASE,
            "per_page": 15,
            "to": 1,
            "total": 1,
        },
    }


def test_the_envelope_has_exactly_the_contract_keys_in_order(api, account, make_number):
    make_number(account)

    body = api.get(NUMBERS_URL).json()

    assert list(body) == ["data", "links", "meta"]
    assert list(body["links"]) == ["first", "last", "prev", "next"]
    assert list(body["meta"]) == ["current_page", "from", "last_page", "path", "per_page", "to", "total"]
    assert list(body["data"][0]) == NUMBER_KEYS


def test_each_row_is_the_number_object(api, account, make_number, make_voice_agent, make_text_agent, make_trunk):
    full = make_number(
        account,
        voice_agent=make_voice_agent(account, name="Sales Agent"),
        text_agent=make_text_agent(account, name="Chat Agent"),
        trunk=make_trunk(account, name="Primary Trunk"),
        provider="twilio",
    )
    bare = make_number(account, status="inactive")

    response = api.get(NUMBERS_URL)

    assert response.status_code == 200
    assert response.json()["data"] == [number_json(full), number_json(bare)]
    assert response.json()["data"][0]["voice_agent_name"] == "Sales Agent"
    assert response.json()["data"][1]["trunk_name"] is None


def test_it_lists_only_the_callers_account(api, outsider_api, account, other_account, make_number):
    mine = make_number(account)
    theirs = make_number(other_account)

    mine_response = api.get(NUMBERS_URL)
    theirs_response = outsider_api.get(NUMBERS_URL)

    assert mine_response.status_code == theirs_response.status_code == 200
    assert ids(mine_response) == [mine.id]
    assert mine_response.json()["meta"]["total"] == 1
    assert ids(theirs_response) == [theirs.id]


def test_an_empty_list_has_null_from_and_to_and_one_last_page(api, account):
    response = api.get(NUMBERS_URL)

    assert response.status_code == 200
    assert response.json() == {
        "data": [],
        "links": {"first": f"{BASE}?page=1", "last": f"{BASE}?page=1", "prev": None, "next": None},
        "meta": {
            "current_page": 1,
            "from": None,
            "last_page": 1,
            "path": BASE,
            "per_page": 15,
            "to": None,
            "total": 0,
        },
    }


def test_a_trailing_slash_works(api, account, make_number):
    number = make_number(account)

    response = api.get(f"{NUMBERS_URL}/", {"status": "active"})

    assert response.status_code == 200
    assert ids(response) == [number.id]


def test_without_a_token_it_is_401(anonymous_api, account, make_number):
    make_number(account)

    response = anonymous_api.get(NUMBERS_URL)

    assert_error(response, 401, "unauthenticated")


def test_a_read_only_token_may_list(read_only_api, account, make_number):
    number = make_number(account)

    response = read_only_api.get(NUMBERS_URL)

    assert response.status_code == 200
    assert ids(response) == [number.id]


# --- ordering -------------------------------------------------------------------------------


def test_it_orders_by_id_not_by_number(api, account, make_number):
    # Created so that number order and id order disagree.
    first = make_number(account, "+15559000001")
    second = make_number(account, "+15551000001")
    third = make_number(account, "+15555000001", status="inactive")

    response = api.get(NUMBERS_URL)

    assert response.status_code == 200
    assert ids(response) == [first.id, second.id, third.id]


def test_pages_cover_every_number_once_in_id_order(api, account, make_number):
    created = [make_number(account).id for _ in range(7)]

    seen = []
    for page in (1, 2, 3, 4):
        response = api.get(NUMBERS_URL, {"per_page": 2, "page": page})
        assert response.status_code == 200
        seen += ids(response)

    assert seen == sorted(created)


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["555 123", "(555) 123-4567", "+1 555 123 4567", "+1.555.123.4567", "5551234567", "1234", "+15551234567"],
)
def test_search_finds_digits_ignoring_punctuation(api, account, make_number, query):
    wanted = make_number(account, "+15551234567")
    make_number(account, "+15559876543")
    make_number(account, "+15551230000")  # has 555123 but not 1234567

    response = api.get(NUMBERS_URL, {"search": query})

    assert response.status_code == 200
    found = ids(response)
    assert wanted.id in found
    assert all("".join(c for c in query if c.isdigit()) in PhoneNumber.objects.get(pk=pk).number for pk in found)


def test_search_matches_digits_anywhere(api, account, make_number):
    both = [make_number(account, "+15551234567"), make_number(account, "+15551230000")]
    make_number(account, "+15559876543")

    response = api.get(NUMBERS_URL, {"search": "555 123"})

    assert response.status_code == 200
    assert ids(response) == [n.id for n in both]


def test_search_does_not_look_into_other_accounts(api, account, other_account, make_number):
    make_number(other_account, "+15551234567")

    response = api.get(NUMBERS_URL, {"search": "5551234567"})

    assert response.status_code == 200
    assert ids(response) == []


@pytest.mark.parametrize("query", ["abc", "555abc", "555*", "555%", "555_1"])
def test_search_with_other_than_digits_and_punctuation_is_422(api, account, make_number, query):
    make_number(account)

    response = api.get(NUMBERS_URL, {"search": query})

    assert_validation_error(response, "search")


@pytest.mark.parametrize("status", ["active", "inactive"])
def test_it_filters_by_status(api, account, make_number, status):
    numbers = {value: make_number(account, status=value) for value in ("active", "inactive")}

    response = api.get(NUMBERS_URL, {"status": status})

    assert response.status_code == 200
    assert ids(response) == [numbers[status].id]


@pytest.mark.parametrize("provider", ["manual", "twilio"])
def test_it_filters_by_provider(api, account, make_number, provider):
    numbers = {value: make_number(account, provider=value) for value in ("manual", "twilio")}

    response = api.get(NUMBERS_URL, {"provider": provider})

    assert response.status_code == 200
    assert ids(response) == [numbers[provider].id]


@pytest.fixture
def assigned(account, make_number, make_voice_agent, make_text_agent, make_trunk):
    """Two objects of each kind and a number assigned to the first of each, one to the
    second of each, and one with nothing assigned."""
    makers = {"voice_agent": make_voice_agent, "text_agent": make_text_agent, "trunk": make_trunk}
    objects = {kind: [make(account), make(account)] for kind, make in makers.items()}
    first = make_number(account, **{kind: pair[0] for kind, pair in objects.items()})
    second = make_number(account, **{kind: pair[1] for kind, pair in objects.items()})
    bare = make_number(account)
    return objects, first, second, bare


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_it_filters_by_an_assigned_id(api, assigned, kind):
    objects, first, second, _bare = assigned

    response = api.get(NUMBERS_URL, {f"{kind}_id": objects[kind][1].id})

    assert response.status_code == 200
    assert ids(response) == [second.id]


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_none_selects_numbers_with_nothing_assigned(api, assigned, kind):
    # A documented extension of the contract: the dashboard's "Unassigned" filter.
    *_, bare = assigned

    response = api.get(NUMBERS_URL, {f"{kind}_id": "none"})

    assert response.status_code == 200
    assert ids(response) == [bare.id]


@pytest.mark.parametrize("value", ["NONE", " 3", "3 ", "+3", "03"])
def test_an_id_filter_is_exactly_digits_or_none(api, assigned, value):
    # The schema's pattern and the server agree to the character.
    response = api.get(NUMBERS_URL, {"voice_agent_id": value})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["voice_agent_id"]


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_an_id_matching_nothing_is_an_empty_page(api, assigned, kind):
    objects, *_ = assigned
    missing = max(obj.id for obj in objects[kind]) + 1000

    response = api.get(NUMBERS_URL, {f"{kind}_id": missing})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["total"] == 0
    assert body["meta"]["from"] is None and body["meta"]["to"] is None


@pytest.mark.parametrize("kind", ["voice_agent", "text_agent", "trunk"])
def test_another_accounts_id_is_an_empty_page(
    api, outsider_api, assigned, other_account, make_number, make_voice_agent, make_text_agent, make_trunk, kind
):
    makers = {"voice_agent": make_voice_agent, "text_agent": make_text_agent, "trunk": make_trunk}
    foreign = makers[kind](other_account)
    make_number(other_account, **{kind: foreign})

    response = api.get(NUMBERS_URL, {f"{kind}_id": foreign.id})

    assert response.status_code == 200
    assert ids(response) == []


@pytest.mark.parametrize("value", ["99999999999999999999999", str(2**63), "9" * 500])
def test_an_id_beyond_any_row_is_an_empty_page_not_an_error(api, assigned, value):
    response = api.get(NUMBERS_URL, {"voice_agent_id": value})

    assert response.status_code == 200
    assert ids(response) == []


def test_filters_combine_with_and(api, account, make_number, make_voice_agent, make_trunk):
    agent = make_voice_agent(account)
    trunk = make_trunk(account)
    hit = make_number(account, "+15551234567", voice_agent=agent, trunk=trunk, provider="twilio")
    # Each of these fails exactly one of the conditions.
    make_number(account, "+15551234500", voice_agent=agent, trunk=trunk, provider="twilio", status="inactive")
    make_number(account, "+15551234501", voice_agent=agent, trunk=trunk, provider="manual")
    make_number(account, "+15551234502", trunk=trunk, provider="twilio")
    make_number(account, "+15551234503", voice_agent=agent, provider="twilio")
    make_number(account, "+15559999999", voice_agent=agent, trunk=trunk, provider="twilio")

    response = api.get(
        NUMBERS_URL,
        {
            "search": "555 1234",
            "status": "active",
            "provider": "twilio",
            "voice_agent_id": agent.id,
            "text_agent_id": "none",
            "trunk_id": trunk.id,
        },
    )

    assert response.status_code == 200
    assert ids(response) == [hit.id]


@pytest.mark.parametrize(
    "param, value",
    [
        ("status", "bogus"),
        ("status", "ACTIVE"),
        ("provider", "x"),
        ("voice_agent_id", "abc"),
        ("voice_agent_id", "0"),
        ("voice_agent_id", "-1"),
        ("voice_agent_id", "1.5"),
        ("voice_agent_id", "1e3"),
        ("text_agent_id", "abc"),
        ("text_agent_id", "0"),
        ("trunk_id", "abc"),
        ("trunk_id", "0"),
        ("search", "abc"),
    ],
)
def test_an_invalid_filter_value_is_422_naming_the_parameter(api, account, make_number, param, value):
    make_number(account)

    response = api.get(NUMBERS_URL, {param: value})

    assert_validation_error(response, param)


def test_every_invalid_parameter_is_named(api, account):
    response = api.get(NUMBERS_URL, {"status": "bogus", "trunk_id": "abc", "provider": "x"})

    assert_validation_error(response, "status", "trunk_id", "provider")


# --- pagination -----------------------------------------------------------------------------


def test_it_serves_15_per_page_by_default(api, account, make_number):
    created = [make_number(account).id for _ in range(16)]

    response = api.get(NUMBERS_URL)

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == created[:15]
    assert body["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 2,
        "path": BASE,
        "per_page": 15,
        "to": 15,
        "total": 16,
    }
    assert body["links"] == {
        "first": f"{BASE}?page=1",
        "last": f"{BASE}?page=2",
        "prev": None,
        "next": f"{BASE}?page=2",
    }


def test_links_keep_the_query_string_and_change_only_page(api, account, make_number):
    created = [make_number(account, status="active").id for _ in range(7)]
    make_number(account, status="inactive")

    response = api.get(f"{NUMBERS_URL}?status=active&per_page=2&page=2")

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == created[2:4]
    assert body["links"] == {
        "first": f"{BASE}?status=active&per_page=2&page=1",
        "last": f"{BASE}?status=active&per_page=2&page=4",
        "prev": f"{BASE}?status=active&per_page=2&page=1",
        "next": f"{BASE}?status=active&per_page=2&page=3",
    }
    assert body["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 4,
        "path": BASE,
        "per_page": 2,
        "to": 4,
        "total": 7,
    }


def test_the_next_link_serves_the_next_page(api, account, make_number):
    created = [make_number(account).id for _ in range(3)]

    first = api.get(NUMBERS_URL, {"search": "555 ", "per_page": 2})
    second = api.get(first.json()["links"]["next"])

    assert second.status_code == 200
    assert ids(second) == created[2:]
    assert second.json()["links"]["next"] is None
    assert second.json()["links"]["prev"] == f"{BASE}?search=555+&per_page=2&page=1"


def test_the_last_page_has_no_next_link(api, account, make_number):
    created = [make_number(account).id for _ in range(5)]

    response = api.get(NUMBERS_URL, {"per_page": 2, "page": 3})

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == created[4:]
    assert body["links"]["next"] is None
    assert body["links"]["prev"] == f"{BASE}?per_page=2&page=2"
    assert (body["meta"]["from"], body["meta"]["to"]) == (5, 5)


@pytest.mark.parametrize("per_page", ["101", "1000", "99999999999999999999999"])
def test_per_page_over_100_is_served_as_100(api, account, make_number, per_page):
    created = [make_number(account).id for _ in range(101)]

    response = api.get(NUMBERS_URL, {"per_page": per_page})

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == created[:100]
    assert body["meta"]["per_page"] == 100
    assert body["meta"]["last_page"] == 2
    assert body["links"]["next"] == f"{BASE}?per_page={per_page}&page=2"


@pytest.mark.parametrize(
    "param, value",
    [
        ("per_page", "0"),
        ("per_page", "abc"),
        ("per_page", "-1"),
        ("per_page", "1.5"),
        ("page", "0"),
        ("page", "abc"),
        ("page", "-1"),
    ],
)
def test_a_page_parameter_that_is_not_a_positive_integer_is_422(api, account, make_number, param, value):
    make_number(account)

    response = api.get(NUMBERS_URL, {param: value})

    assert_validation_error(response, param)


def test_both_bad_page_parameters_are_named(api, account):
    response = api.get(NUMBERS_URL, {"page": "0", "per_page": "abc"})

    assert_validation_error(response, "page", "per_page")


@pytest.mark.parametrize("page", ["3", "99999999999999999999999"])
def test_a_page_past_the_end_is_200_with_empty_data(api, account, make_number, page):
    [make_number(account) for _ in range(3)]

    response = api.get(NUMBERS_URL, {"per_page": 2, "page": page})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["total"] == 3
    assert body["meta"]["last_page"] == 2
    assert body["meta"]["from"] is None and body["meta"]["to"] is None
    assert body["links"]["next"] is None


# --- query count ----------------------------------------------------------------------------


def test_a_page_of_100_costs_the_same_queries_as_a_page_of_1(
    api,
    account,
    make_number,
    make_voice_agent,
    make_text_agent,
    make_trunk,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    for _ in range(100):
        make_number(
            account,
            voice_agent=make_voice_agent(account),
            text_agent=make_text_agent(account),
            trunk=make_trunk(account),
        )
    api.get(NUMBERS_URL)  # the token's first use records last_used_at; not part of a list

    # Measured: 3 queries — the token (with its account), the count, and the page with the
    # agents and the trunk joined in.
    with django_assert_num_queries(3):
        one = api.get(NUMBERS_URL, {"per_page": 1})
    with django_assert_num_queries(3):
        hundred = api.get(NUMBERS_URL, {"per_page": 100})
    with django_assert_max_num_queries(3):
        api.get(NUMBERS_URL, {"per_page": 100, "status": "active", "search": "555", "trunk_id": "none"})

    assert one.status_code == hundred.status_code == 200
    assert len(one.json()["data"]) == 1
    assert len(hundred.json()["data"]) == 100
    assert all(
        row["voice_agent_name"] and row["text_agent_name"] and row["trunk_name"] for row in hundred.json()["data"]
    )
