"""The pagination envelope of API.md section 3, in detail, on /api/v1/numbers."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.helpers import assert_error, next_e164

pytestmark = pytest.mark.django_db

BASE = "http://testserver/api/v1/numbers"


@pytest.fixture
def five_numbers(account, make_number):
    """Five numbers created in descending number order, so order by id differs from order
    by number."""
    e164s = sorted((next_e164() for _ in range(5)), reverse=True)
    return [make_number(account, number) for number in e164s]


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["data"]]


def test_the_envelope_has_data_links_and_meta_in_this_order(api, five_numbers):
    response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "links", "meta"]
    assert list(body["links"]) == ["first", "last", "prev", "next"]
    assert list(body["meta"]) == ["current_page", "from", "last_page", "path", "per_page", "to", "total"]


def test_the_first_page(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=2")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [five_numbers[0].id, five_numbers[1].id]
    assert body["links"] == {
        "first": f"{BASE}?per_page=2&page=1",
        "last": f"{BASE}?per_page=2&page=3",
        "prev": None,
        "next": f"{BASE}?per_page=2&page=2",
    }
    assert body["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 3,
        "path": BASE,
        "per_page": 2,
        "to": 2,
        "total": 5,
    }


def test_a_middle_page(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=2&page=2")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [five_numbers[2].id, five_numbers[3].id]
    assert body["links"] == {
        "first": f"{BASE}?per_page=2&page=1",
        "last": f"{BASE}?per_page=2&page=3",
        "prev": f"{BASE}?per_page=2&page=1",
        "next": f"{BASE}?per_page=2&page=3",
    }
    assert body["meta"]["current_page"] == 2
    assert (body["meta"]["from"], body["meta"]["to"]) == (3, 4)


def test_the_last_page(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=2&page=3")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [five_numbers[4].id]
    assert body["links"]["prev"] == f"{BASE}?per_page=2&page=2"
    assert body["links"]["next"] is None
    assert body["meta"] == {
        "current_page": 3,
        "from": 5,
        "last_page": 3,
        "path": BASE,
        "per_page": 2,
        "to": 5,
        "total": 5,
    }


def test_a_single_page_has_no_prev_or_next(api, five_numbers):
    body = api.get("/api/v1/numbers").json()
    assert body["links"]["prev"] is None
    assert body["links"]["next"] is None
    assert body["links"]["first"] == body["links"]["last"] == f"{BASE}?page=1"
    assert body["meta"]["last_page"] == 1


def test_links_keep_the_query_string_in_order_and_change_only_page(api, account, make_number):
    for _ in range(3):
        make_number(account, status="active")
    make_number(account, status="inactive")
    response = api.get("/api/v1/numbers?status=active&page=2&per_page=1&provider=manual")
    assert response.status_code == 200
    links = response.json()["links"]
    assert links == {
        "first": f"{BASE}?status=active&page=1&per_page=1&provider=manual",
        "last": f"{BASE}?status=active&page=3&per_page=1&provider=manual",
        "prev": f"{BASE}?status=active&page=1&per_page=1&provider=manual",
        "next": f"{BASE}?status=active&page=3&per_page=1&provider=manual",
    }
    assert response.json()["meta"]["total"] == 3


def test_links_append_page_when_the_request_had_none(api, account, make_number):
    for _ in range(2):
        make_number(account, status="active")
    links = api.get("/api/v1/numbers?status=active&per_page=1").json()["links"]
    assert links["next"] == f"{BASE}?status=active&per_page=1&page=2"
    assert links["first"] == f"{BASE}?status=active&per_page=1&page=1"


def test_links_keep_a_search_with_spaces(api, account, make_number):
    make_number(account, "+15551230001")
    make_number(account, "+15551230002")
    response = api.get("/api/v1/numbers?search=555%20123&per_page=1")
    assert response.status_code == 200
    next_link = response.json()["links"]["next"]
    parts = urlsplit(next_link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE
    assert parse_qsl(parts.query) == [("search", "555 123"), ("per_page", "1"), ("page", "2")]
    # Following the link gives the second page of the same search.
    assert api.get(next_link).json()["data"][0]["number"] == "+15551230002"


def test_links_are_absolute_on_the_requests_host_and_scheme(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=2", HTTP_HOST="localhost:8000", secure=True)
    assert response.status_code == 200
    body = response.json()
    assert body["links"]["next"] == "https://localhost:8000/api/v1/numbers?per_page=2&page=2"
    assert body["meta"]["path"] == "https://localhost:8000/api/v1/numbers"


def test_a_filter_that_matches_nothing_is_an_empty_page(api, five_numbers):
    response = api.get("/api/v1/numbers?status=inactive")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert (body["meta"]["from"], body["meta"]["to"], body["meta"]["last_page"]) == (None, None, 1)
    assert body["meta"]["total"] == 0


def test_the_default_page_size_is_15(api, account, make_number):
    numbers = [make_number(account) for _ in range(16)]
    first = api.get("/api/v1/numbers")
    assert first.status_code == 200
    assert ids(first) == [n.id for n in numbers[:15]]
    assert first.json()["meta"]["per_page"] == 15
    assert first.json()["meta"]["last_page"] == 2
    second = api.get(first.json()["links"]["next"])
    assert ids(second) == [numbers[15].id]


@pytest.mark.parametrize("per_page", ["101", "1000", "99999999999999999999999999"])
def test_per_page_is_served_as_at_most_100(api, account, make_number, per_page):
    for _ in range(101):
        make_number(account)
    response = api.get(f"/api/v1/numbers?per_page={per_page}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 100
    assert body["meta"]["per_page"] == 100
    assert body["meta"]["last_page"] == 2
    assert body["meta"]["to"] == 100
    assert body["links"]["next"] == f"{BASE}?per_page={per_page}&page=2"


def test_per_page_100_is_served_as_is(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=100")
    assert response.status_code == 200
    assert response.json()["meta"]["per_page"] == 100
    assert ids(response) == [n.id for n in five_numbers]


INVALID = ["0", "-1", "abc", "1.5", "1e2", "%201", "1%20", "%2B1", "00", "\u0661", "\uff11", "0x10"]


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_per_page_is_422_naming_it(api, five_numbers, value):
    response = api.get(f"/api/v1/numbers?per_page={value}")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["per_page"]
    assert error["fields"]["per_page"] and all(isinstance(m, str) for m in error["fields"]["per_page"])


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_page_is_422_naming_it(api, five_numbers, value):
    response = api.get(f"/api/v1/numbers?page={value}")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["page"]


def test_an_invalid_page_and_per_page_are_both_named(api):
    response = api.get("/api/v1/numbers?page=x&per_page=0")
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"page", "per_page"}


def test_an_invalid_page_on_an_empty_list_is_still_422(api):
    response = api.get("/api/v1/numbers?page=-3")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["page"]


@pytest.mark.parametrize("value", ["02", "0" * 30 + "2"])
def test_leading_zeros_are_a_positive_integer(api, five_numbers, value):
    response = api.get(f"/api/v1/numbers?per_page=2&page={value}")
    assert response.status_code == 200
    assert response.json()["meta"]["current_page"] == 2
    assert ids(response) == [five_numbers[2].id, five_numbers[3].id]


def test_a_page_just_past_the_end_is_an_empty_200(api, five_numbers):
    response = api.get("/api/v1/numbers?per_page=2&page=4")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["current_page"] == 4
    assert (body["meta"]["from"], body["meta"]["to"]) == (None, None)
    assert body["meta"]["total"] == 5
    assert body["meta"]["last_page"] == 3
    assert body["links"]["next"] is None
    assert body["links"]["last"] == f"{BASE}?per_page=2&page=3"


@pytest.mark.parametrize("page", ["99999999999999999999999", "9" * 5000])
def test_a_page_far_past_the_end_is_an_empty_200(api, five_numbers, page):
    response = api.get(f"/api/v1/numbers?page={page}")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert (body["meta"]["from"], body["meta"]["to"]) == (None, None)
    assert body["meta"]["total"] == 5
    assert body["links"]["next"] is None
    assert body["links"]["first"] == f"{BASE}?page=1"


def test_pages_are_ordered_by_id_without_gaps_or_repeats(api, account, make_number):
    e164s = sorted((next_e164() for _ in range(7)), reverse=True)
    numbers = [make_number(account, e164) for e164 in e164s]
    seen = []
    url = "/api/v1/numbers?per_page=3"
    while url:
        response = api.get(url)
        assert response.status_code == 200
        seen += ids(response)
        url = response.json()["links"]["next"]
    assert seen == sorted(n.id for n in numbers)
    assert [row.number for row in sorted(numbers, key=lambda n: n.id)] == e164s


def test_a_page_is_a_fixed_number_of_queries(
    api, account, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_max_num_queries
):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    for _ in range(15):
        make_number(account, voice_agent=voice, text_agent=text, trunk=trunk)
    # token lookup, last_used_at, count, page
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    assert all(row["voice_agent_name"] == voice.name for row in response.json()["data"])


@pytest.mark.parametrize("resource", ["trunks", "voice-agents", "text-agents"])
def test_every_list_uses_the_same_envelope(api, account, make_trunk, make_voice_agent, make_text_agent, resource):
    make = {"trunks": make_trunk, "voice-agents": make_voice_agent, "text-agents": make_text_agent}[resource]
    objects = [make(account) for _ in range(3)]
    response = api.get(f"/api/v1/{resource}?per_page=2&page=2")
    assert response.status_code == 200
    base = f"http://testserver/api/v1/{resource}"
    assert response.json() == {
        "data": response.json()["data"],
        "links": {
            "first": f"{base}?per_page=2&page=1",
            "last": f"{base}?per_page=2&page=2",
            "prev": f"{base}?per_page=2&page=1",
            "next": None,
        },
        "meta": {"current_page": 2, "from": 3, "last_page": 2, "path": base, "per_page": 2, "to": 3, "total": 3},
    }
    assert ids(response) == [objects[2].id]
    assert_error(api.get(f"/api/v1/{resource}?per_page=abc"), 422, "validation_error")


@pytest.mark.parametrize("param", ["page", "per_page"])
def test_an_empty_page_parameter_is_a_422_naming_it(api, param):
    # The schema types both as integers; an empty value is not one.
    response = api.get("/api/v1/numbers", {param: ""})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == [param]


def test_too_many_query_parameters_is_a_json_400(api, settings, client):
    settings.DEBUG = False
    query = "&".join(f"p{index}=1" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.get(f"/api/v1/numbers?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api/v1/numbers", "/api/v1/voice-agents", "/api/v1/trunks"])
def test_pages_read_from_either_end_hold_every_row_once_in_order(
    api, account, make_number, make_voice_agent, make_trunk, path
):
    make = {"/api/v1/numbers": make_number, "/api/v1/voice-agents": make_voice_agent, "/api/v1/trunks": make_trunk}[
        path
    ]
    ids = [make(account).id for _ in range(7)]
    # Pages 1 and 2 are read forwards, page 3 (nearer the end) backwards.
    pages = [api.get(path, {"per_page": 3, "page": page}).json()["data"] for page in (1, 2, 3)]
    assert [[row["id"] for row in page] for page in pages] == [ids[0:3], ids[3:6], ids[6:7]]


def test_every_page_of_a_list_is_served_the_middle_one_included(api, account, make_number):
    numbers = [make_number(account) for _ in range(9)]
    # One row per page: pages 1-5 are read from the start, 6-9 backwards from the end.
    served = [api.get("/api/v1/numbers", {"per_page": 1, "page": page}).json()["data"] for page in range(1, 10)]
    assert [page[0]["id"] for page in served] == [number.id for number in numbers]
