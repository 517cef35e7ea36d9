"""GET /api/v1/events — the account's activity: every change to its numbers, newest first,
with filters; and the events that changes to agents, trunks and many numbers at once write."""

from datetime import UTC, datetime

import pytest

from kalem_site.actors import Actor
from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import OWNER_TOKEN, TEST_ACTOR, events_of
from tests.contract import EVENT_KEYS, NUMBERS_URL, number_url
from tests.helpers import assert_error, assert_validation_error, create_number, put_number, queries

URL = "/api/v1/events"


def listed(api, path: str = URL, params: dict | None = None) -> list[dict]:
    response = api.get(path, params or {})
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def ids(data: list[dict]) -> list[int]:
    return [e["id"] for e in data]


def newest_first(queryset) -> list[int]:
    return list(queryset.order_by("-id").values_list("id", flat=True))


def named(agent) -> dict:
    return {"id": agent.pk, "name": agent.name}


@pytest.fixture
def two_numbers(api) -> tuple[int, int]:
    """Two numbers of the account: +14155550123 (created, then deactivated) and
    +14155550124 (created)."""
    first = create_number(api, "+14155550123")
    second = create_number(api, "+14155550124")
    put_number(api, first, {"status": "inactive"})
    return first, second


# --- the list -----------------------------------------------------------------------------------


def test_it_lists_the_accounts_events_newest_first(api, two_numbers):
    first, second = two_numbers

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "links", "meta"]
    assert [list(e) for e in body["data"]] == [EVENT_KEYS] * 3
    assert [(e["number_id"], e["action"]) for e in body["data"]] == [
        (first, "deactivated"),
        (second, "created"),
        (first, "created"),
    ]
    assert ids(body["data"]) == newest_first(NumberEvent.objects.all())
    assert body["meta"]["total"] == 3


def test_another_accounts_events_never_appear(api, outsider_api, two_numbers):
    theirs = create_number(outsider_api, "+14155550199")
    put_number(outsider_api, theirs, {"status": "inactive"})

    mine = api.get(URL, {"per_page": 100})
    their_list = outsider_api.get(URL)

    assert mine.status_code == their_list.status_code == 200
    assert theirs not in [e["number_id"] for e in mine.json()["data"]]
    assert "+14155550199" not in mine.content.decode()
    assert mine.json()["meta"]["total"] == 3
    assert [(e["number_id"], e["action"], e["actor_name"]) for e in their_list.json()["data"]] == [
        (theirs, "deactivated", "Outsider token"),
        (theirs, "created", "Outsider token"),
    ]
    # Not even by asking for the other account's number by id or by number.
    assert listed(api, params={"number_id": str(theirs)}) == []
    assert listed(api, params={"number": "+14155550199"}) == []


def test_deleted_numbers_events_stay_on_the_list(api, two_numbers):
    first, _ = two_numbers

    deleted = api.delete(number_url(first))
    data = listed(api)

    assert deleted.status_code == 204
    assert [(e["number_id"], e["action"]) for e in data if e["number_id"] == first] == [
        (first, "deleted"),
        (first, "deactivated"),
        (first, "created"),
    ]


def test_a_read_only_token_can_read_the_list(read_only_api, two_numbers):
    response = read_only_api.get(URL)

    assert response.status_code == 200
    assert len(response.json()["data"]) == 3


def test_anonymous_requests_are_401(anonymous_api, two_numbers):
    assert_error(anonymous_api.get(URL), 401, "unauthenticated")


def test_it_pages_like_every_list(api, two_numbers):
    all_ids = newest_first(NumberEvent.objects.all())

    first = api.get(URL, {"per_page": 2})
    second = api.get(URL, {"per_page": 2, "page": 2})

    assert first.status_code == second.status_code == 200
    assert ids(first.json()["data"]) == all_ids[:2]
    assert ids(second.json()["data"]) == all_ids[2:]
    assert first.json()["links"]["next"] == "http://testserver/api/v1/events?per_page=2&page=2"
    assert second.json()["links"]["next"] is None
    assert (second.json()["meta"]["total"], second.json()["meta"]["last_page"]) == (3, 2)


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["+14155550123", "+1 (415) 555-0123", "0014155550123", "+1.415.555.0123", "+1-415-555-0123", " +1 415 555 0123 "],
)
def test_number_finds_the_numbers_events_in_any_common_formatting(api, two_numbers, typed):
    first, _ = two_numbers

    data = listed(api, params={"number": typed})

    assert [(e["number_id"], e["action"]) for e in data] == [(first, "deactivated"), (first, "created")]


@pytest.mark.parametrize(
    "query",
    [
        "number=+14155550123",  # the + decodes to a space
        "number=+1+415+555+0123",  # so do the spaces between the digits
        "number=+1%20(415)%20555-0123",
    ],
)
def test_an_unencoded_plus_in_number_is_read_as_the_plus_it_was(api, two_numbers, query):
    first, _ = two_numbers

    data = listed(api, f"{URL}?{query}")

    assert [(e["number_id"], e["action"]) for e in data] == [(first, "deactivated"), (first, "created")]


def test_number_finds_a_deleted_numbers_events(api, two_numbers):
    first, _ = two_numbers
    api.delete(number_url(first))

    data = listed(api, params={"number": "+1 415 555 0123"})

    assert [e["action"] for e in data] == ["deleted", "deactivated", "created"]


def test_number_id_narrows_to_one_number_deleted_or_not(api, two_numbers):
    first, second = two_numbers
    api.delete(number_url(second))

    assert [e["action"] for e in listed(api, params={"number_id": str(first)})] == ["deactivated", "created"]
    assert [e["action"] for e in listed(api, params={"number_id": str(second)})] == ["deleted", "created"]


def test_an_unknown_number_id_is_an_empty_list(api, two_numbers):
    first, second = two_numbers

    assert listed(api, params={"number_id": str(max(first, second) + 1000)}) == []
    assert listed(api, params={"number_id": "99999999999999999999999"}) == []


@pytest.mark.parametrize("action, expected", [("created", 2), ("deactivated", 1), ("activated", 0), ("renamed", 0)])
def test_action_narrows_to_one_kind_of_change(api, two_numbers, action, expected):
    data = listed(api, params={"action": action})

    assert [e["action"] for e in data] == [action] * expected


def test_channel_narrows_to_what_the_change_came_through(api, owner, two_numbers):
    first, second = two_numbers
    dashboard = Actor.for_user(owner, "dashboard")
    services.number_set_status(actor=dashboard, number=PhoneNumber.objects.get(pk=second), active=False)
    services.number_set_status(actor=TEST_ACTOR, number=PhoneNumber.objects.get(pk=first), active=True)

    by_channel = {channel: listed(api, params={"channel": channel}) for channel in ("api", "dashboard", "command")}

    assert [(e["number_id"], e["action"]) for e in by_channel["dashboard"]] == [(second, "deactivated")]
    assert (by_channel["dashboard"][0]["actor_type"], by_channel["dashboard"][0]["actor_name"]) == ("user", "alice")
    assert [(e["number_id"], e["action"], e["actor_name"]) for e in by_channel["command"]] == [
        (first, "activated", "tests")
    ]
    assert len(by_channel["api"]) == 3
    assert listed(api, params={"channel": "admin"}) == []


def test_filters_combine(api, two_numbers):
    first, _ = two_numbers

    data = listed(api, params={"number": "+14155550123", "action": "created", "channel": "api"})

    assert [(e["number_id"], e["action"]) for e in data] == [(first, "created")]


# Three events, one an hour: 10:00, 11:00 and 12:00 UTC on 2025-01-15.
def at(hour: int, microsecond: int = 0) -> datetime:
    return datetime(2025, 1, 15, hour, 0, 0, microsecond, tzinfo=UTC)


@pytest.fixture
def hourly(api, two_numbers) -> dict[int, int]:
    """The list's three events moved to 10:00, 11:00 and 12:00 UTC; hour → event id."""
    events = newest_first(NumberEvent.objects.all())[::-1]
    for hour, pk in zip((10, 11, 12), events, strict=True):
        NumberEvent.objects.filter(pk=pk).update(occurred_at=at(hour))
    return dict(zip((10, 11, 12), events, strict=True))


def hours(data: list[dict], hourly: dict[int, int]) -> list[int]:
    by_id = {pk: hour for hour, pk in hourly.items()}
    return [by_id[e["id"]] for e in data]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"since": "2025-01-15T11:00:00+00:00"}, [12, 11]),
        ({"until": "2025-01-15T11:00:00+00:00"}, [11, 10]),
        ({"since": "2025-01-15T11:00:00Z", "until": "2025-01-15T11:00:00Z"}, [11]),
        ({"since": "2025-01-15T10:00:01Z", "until": "2025-01-15T11:59:59Z"}, [11]),
        # No offset: UTC.
        ({"since": "2025-01-15T11:00:00"}, [12, 11]),
        ({"until": "2025-01-15T11:00"}, [11, 10]),
        # Another offset, percent-encoded by the client.
        ({"since": "2025-01-15T13:00:00+02:00"}, [12, 11]),
        ({"until": "2025-01-15T06:00:00-05:00"}, [11, 10]),
        ({"since": "2025-01-15T12:00:01Z"}, []),
    ],
)
def test_since_and_until_are_inclusive_and_read_naive_times_as_utc(api, hourly, params, expected):
    data = listed(api, params=params)

    assert hours(data, hourly) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("since=2025-01-15T13:00:00+02:00", [12, 11]),  # the + decodes to a space
        ("until=2025-01-15T13:00:00+0200", [11, 10]),
        ("since=2025-01-15T10:30:00+00:00&until=2025-01-15T13:30:00+02:00", [11]),
    ],
)
def test_an_offset_whose_plus_was_not_encoded_is_read_as_the_plus_it_was(api, hourly, query, expected):
    data = listed(api, f"{URL}?{query}")

    assert hours(data, hourly) == expected


def test_until_an_events_shown_time_includes_that_event(api, two_numbers):
    first, _ = two_numbers
    latest = NumberEvent.objects.filter(number_id=first).order_by("-id").first()
    NumberEvent.objects.filter(pk=latest.pk).update(occurred_at=at(11, microsecond=500_000))
    shown = next(e["occurred_at"] for e in listed(api) if e["id"] == latest.pk)
    assert shown == "2025-01-15T11:00:00+00:00"

    data = listed(api, params={"until": shown})

    assert latest.pk in ids(data)


def test_an_unencoded_plus_before_an_hours_only_offset_is_read_as_the_plus_it_was(api, hourly):
    encoded = api.get(f"{URL}?since=2025-01-15T13:00:00%2B02")
    assert encoded.status_code == 200

    response = api.get(f"{URL}?since=2025-01-15T13:00:00+02")

    assert response.status_code == 200, response.json()
    assert hours(response.json()["data"], hourly) == [12, 11]


# --- invalid filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "param, value",
    [
        ("number", "abc"),
        ("number", "4155550123"),  # no country code
        ("number", "+1555"),  # not a possible number
        ("number", "+1 415 555 0123 ext 9"),
        ("number", "+" + "1" * 40),
        ("number_id", "0"),
        ("number_id", "abc"),
        ("number_id", "-3"),
        ("number_id", "1.5"),
        ("action", "bogus"),
        ("action", "CREATED"),
        ("channel", "fax"),
        ("since", "yesterday"),
        ("since", "2025-13-01T00:00:00Z"),
        ("until", "2025-01-15T25:00:00"),
        ("until", "15/01/2025"),
        # Forms ISO 8601 has but whose precision `until` could not tell: refused, not guessed.
        ("until", "2025-01-15T10"),
        ("until", "20250115T103000"),
        ("until", "2025-01-15T10:30:00,5"),
        # Beyond year 1 or 9999 once in UTC.
        ("since", "0001-01-01T00:00:00+01:00"),
        ("since", "9999-12-31T23:00:00-05:00"),
    ],
)
def test_an_invalid_filter_value_is_a_422_naming_the_filter(api, two_numbers, param, value):
    response = api.get(URL, {param: value})

    fields = assert_validation_error(response, param)
    assert fields[param]


def test_every_invalid_filter_is_named_at_once(api, two_numbers):
    response = api.get(URL, {"number": "abc", "since": "soon", "action": "bogus", "number_id": "0"})

    assert_validation_error(response, "number", "since", "action", "number_id")


def test_a_number_longer_than_32_characters_as_typed_is_a_422(api, two_numbers):
    typed = "+1 " + "- " * 20 + "415 555 0123"
    assert len(typed) > 32
    lookup = api.get(f"{NUMBERS_URL}/lookup", {"number": typed})
    assert lookup.status_code == 422

    response = api.get(URL, {"number": typed})

    assert_validation_error(response, "number")


@pytest.mark.parametrize("param", ["status", "number_ids", "search", "occurred_at"])
def test_an_unknown_query_parameter_is_a_422_naming_it(api, two_numbers, param):
    response = api.get(URL, {param: "1"})

    fields = assert_validation_error(response, param)
    assert fields[param] == ["Unknown query parameter."]


def test_empty_filters_are_no_filters(api, two_numbers):
    data = listed(api, params={"number": "", "number_id": "", "action": "", "channel": "", "since": "", "until": ""})

    assert len(data) == 3


# --- changes to agents and trunks --------------------------------------------------------------


@pytest.fixture
def assigned(api, account, make_voice_agent, make_text_agent, make_trunk) -> dict:
    """Two numbers on the Sales voice agent, the Chat text agent and the Edge trunk, and a
    third number on none of them."""
    sales, chat, edge = (
        make_voice_agent(account, "Sales"),
        make_text_agent(account, "Chat"),
        make_trunk(account, "Edge"),
    )
    on = [
        create_number(api, number, voice_agent_id=sales.pk, text_agent_id=chat.pk, trunk_id=edge.pk)
        for number in ("+14155550101", "+14155550102")
    ]
    off = create_number(api, "+14155550103")
    return {"sales": sales, "chat": chat, "edge": edge, "on": on, "off": off}


@pytest.mark.parametrize(
    "path, key, field",
    [
        ("/api/v1/voice-agents", "sales", "voice_agent"),
        ("/api/v1/text-agents", "chat", "text_agent"),
        ("/api/v1/trunks", "edge", "trunk"),
    ],
)
def test_renaming_an_agent_or_trunk_records_renamed_on_each_of_its_numbers(api, assigned, path, key, field):
    related = assigned[key]
    old_name = related.name

    response = api.patch(f"{path}/{related.pk}", {"name": "Renamed"}, format="json")
    data = listed(api, params={"action": "renamed"})

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    before, after = {"id": related.pk, "name": old_name}, {"id": related.pk, "name": "Renamed"}
    assert sorted((e["number_id"], e["field"], e["before"], e["after"]) for e in data) == [
        (pk, field, before, after) for pk in sorted(assigned["on"])
    ]
    assert all((e["actor_type"], e["actor_name"], e["channel"]) == OWNER_TOKEN for e in data)
    for pk in assigned["on"]:
        assert events_of(pk)[-1] == ("renamed", field, before, after, *OWNER_TOKEN)
    assert [row[0] for row in events_of(assigned["off"])] == ["created"]


@pytest.mark.parametrize("body", [{"description": "Handles the sales line"}, {"name": "Sales"}, {"name": "  Sales  "}])
def test_an_agent_update_that_keeps_the_name_records_nothing(api, assigned, body):
    before = NumberEvent.objects.count()

    response = api.patch(f"/api/v1/voice-agents/{assigned['sales'].pk}", body, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Sales"
    assert listed(api, params={"action": "renamed"}) == []
    assert NumberEvent.objects.count() == before


def test_a_refused_rename_records_nothing(api, account, assigned, make_voice_agent):
    make_voice_agent(account, "Support")
    before = NumberEvent.objects.count()

    response = api.patch(f"/api/v1/voice-agents/{assigned['sales'].pk}", {"name": "Support"}, format="json")

    assert_validation_error(response, "name")
    assert NumberEvent.objects.count() == before
    assert listed(api, params={"action": "renamed"}) == []


@pytest.mark.parametrize(
    "path, key, field",
    [
        ("/api/v1/voice-agents", "sales", "voice_agent"),
        ("/api/v1/text-agents", "chat", "text_agent"),
        ("/api/v1/trunks", "edge", "trunk"),
    ],
)
def test_deleting_an_agent_or_trunk_records_unassigned_on_each_of_its_numbers(api, assigned, path, key, field):
    related = assigned[key]

    response = api.delete(f"{path}/{related.pk}")
    data = listed(api, params={"action": "unassigned"})

    assert response.status_code == 204
    before = {"id": related.pk, "name": related.name}
    assert sorted((e["number_id"], e["field"], e["before"], e["after"]) for e in data) == [
        (pk, field, before, None) for pk in sorted(assigned["on"])
    ]
    assert all((e["actor_type"], e["actor_name"], e["channel"]) == OWNER_TOKEN for e in data)
    assert PhoneNumber.objects.filter(pk__in=assigned["on"], **{field: None}).count() == 2
    for pk in assigned["on"]:
        assert events_of(pk)[-1] == ("unassigned", field, before, None, *OWNER_TOKEN)
    assert [row[0] for row in events_of(assigned["off"])] == ["created"]


def test_deleting_an_agent_with_no_numbers_records_nothing(api, account, assigned, make_voice_agent):
    idle = make_voice_agent(account, "Idle")
    before = NumberEvent.objects.count()

    response = api.delete(f"/api/v1/voice-agents/{idle.pk}")

    assert response.status_code == 204
    assert NumberEvent.objects.count() == before


# --- bulk ----------------------------------------------------------------------------------------

BULK_URL = f"{NUMBERS_URL}/bulk"


@pytest.fixture
def mixed(api) -> tuple[int, int, int]:
    """Two active numbers and an inactive one."""
    a, b, c = (create_number(api, f"+1415555020{i}") for i in range(3))
    put_number(api, c, {"status": "inactive"})
    return a, b, c


def test_a_bulk_status_change_records_one_event_per_changed_number(api, mixed):
    a, b, c = mixed
    before = NumberEvent.objects.count()

    response = api.post(
        BULK_URL,
        {"action": "deactivate", "numbers": ["+1 415 555 0200", "+14155550201", "+14155550202"]},
        format="json",
    )
    data = listed(api, params={"action": "deactivated"})

    assert response.status_code == 200
    assert response.json()["changed"] == 2
    assert sorted((e["number_id"], e["before"], e["after"]) for e in data if e["number_id"] != c) == [
        (a, "active", "inactive"),
        (b, "active", "inactive"),
    ]
    assert [e["number_id"] for e in data].count(c) == 1  # only its own PUT, before the bulk
    assert NumberEvent.objects.count() == before + 2
    assert events_of(a)[-1] == ("deactivated", "status", "active", "inactive", *OWNER_TOKEN)


def test_a_bulk_assign_records_only_the_fields_that_change(api, account, mixed, make_voice_agent, make_trunk):
    a, b, c = mixed
    sales, edge = make_voice_agent(account, "Sales"), make_trunk(account, "Edge")
    put_number(api, a, {"voice_agent_id": sales.pk})  # a has the agent already
    put_number(api, b, {"voice_agent_id": sales.pk, "trunk_id": edge.pk})  # b has both
    before = NumberEvent.objects.count()

    response = api.post(
        BULK_URL, {"action": "assign", "ids": [a, b, c], "voice_agent_id": sales.pk, "trunk_id": edge.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["changed"] == 2
    new = NumberEvent.objects.order_by("id")[before:]
    assert sorted((e.number_id, e.action, e.field, str(e.before), str(e.after)) for e in new) == sorted(
        [
            (a, "assigned", "trunk", "None", str(named(edge))),
            (c, "assigned", "trunk", "None", str(named(edge))),
            (c, "assigned", "voice_agent", "None", str(named(sales))),
        ]
    )
    assert all((e.actor_type, e.actor_name, e.channel) == OWNER_TOKEN for e in new)
    assert [row[0] for row in events_of(b)][-1] == "assigned"
    assert NumberEvent.objects.filter(number_id=b).count() == 3  # created and its two PUT changes


def test_a_bulk_unassign_records_unassigned_with_the_old_name(api, account, mixed, make_voice_agent):
    a, b, c = mixed
    sales = make_voice_agent(account, "Sales")
    put_number(api, a, {"voice_agent_id": sales.pk})

    response = api.post(BULK_URL, {"action": "assign", "ids": [a, b], "voice_agent_id": None}, format="json")

    assert response.status_code == 200
    assert response.json()["changed"] == 1
    data = listed(api, params={"action": "unassigned"})
    assert [(e["number_id"], e["field"], e["before"], e["after"]) for e in data] == [
        (a, "voice_agent", named(sales), None)
    ]


def test_a_bulk_delete_records_each_numbers_state(api, account, mixed, make_voice_agent):
    a, b, c = mixed
    sales = make_voice_agent(account, "Sales")
    put_number(api, a, {"voice_agent_id": sales.pk})

    response = api.post(BULK_URL, {"action": "delete", "ids": [a, c, a]}, format="json")
    data = listed(api, params={"action": "deleted"})

    assert response.status_code == 200
    assert response.json()["changed"] == 2
    state = {"status": "active", "provider": "manual", "voice_agent": None, "text_agent": None, "trunk": None}
    assert sorted(((e["number_id"], e["number"], e["after"]) for e in data), key=lambda t: t[0]) == [
        (a, "+14155550200", None),
        (c, "+14155550202", None),
    ]
    by_number = {e["number_id"]: e["before"] for e in data}
    assert by_number == {a: {**state, "voice_agent": named(sales)}, c: {**state, "status": "inactive"}}
    assert not PhoneNumber.objects.filter(pk__in=[a, c]).exists()
    assert [row[0] for row in events_of(b)] == ["created"]


def test_a_bulk_change_that_changes_nothing_records_nothing(api, mixed):
    a, b, c = mixed
    before = NumberEvent.objects.count()

    response = api.post(BULK_URL, {"action": "activate", "ids": [a, b]}, format="json")

    assert response.status_code == 200
    assert response.json()["changed"] == 0
    assert NumberEvent.objects.count() == before


def test_a_bulk_change_never_records_events_for_another_accounts_numbers(api, outsider_api, mixed):
    theirs = create_number(outsider_api, "+14155550299")

    response = api.post(BULK_URL, {"action": "deactivate", "ids": [theirs]}, format="json")

    assert response.status_code == 200
    assert response.json()["results"][0]["result"] == "not_found"
    assert [row[0] for row in events_of(theirs)] == ["created"]


# --- query budget -----------------------------------------------------------------------------

# The token, the count, the page of events (ids and rows in one statement).
LIST_QUERIES = 3


@pytest.mark.parametrize(
    "params", [{}, {"number": "+14155550123", "action": "activated"}, {"since": "2000-01-01T00:00:00Z"}]
)
@pytest.mark.parametrize("count", [5, 50])
def test_the_list_runs_a_fixed_number_of_queries_whatever_the_events(api, count, params):
    pk = create_number(api, "+14155550123")
    number = PhoneNumber.objects.get(pk=pk)
    for i in range(count - 1):
        services.number_set_status(actor=TEST_ACTOR, number=number, active=i % 2 == 1)
    api.get(URL)  # a token's first use writes its last_used_at: not part of the budget

    with queries() as captured:
        response = api.get(URL, {**params, "per_page": 100})

    assert response.status_code == 200
    assert response.json()["data"]
    assert len(captured.statements) == LIST_QUERIES, captured.statements


def test_a_date_alone_as_until_includes_that_whole_day(api, account):
    created = api.post("/api/v1/numbers", {"number": "+14155550177"}, format="json")
    assert created.status_code == 201
    NumberEvent.objects.filter(number_id=created.json()["id"]).update(
        occurred_at=datetime(2025, 1, 15, 23, 59, 59, 500000, tzinfo=UTC)
    )

    same_day = api.get("/api/v1/events", {"until": "2025-01-15"})
    day_before = api.get("/api/v1/events", {"until": "2025-01-14"})

    assert same_day.status_code == 200
    assert [event["number"] for event in same_day.json()["data"]] == ["+14155550177"]
    assert day_before.json()["data"] == []


def test_until_to_the_minute_includes_that_whole_minute(api, account):
    created = api.post("/api/v1/numbers", {"number": "+14155550178"}, format="json")
    NumberEvent.objects.filter(number_id=created.json()["id"]).update(
        occurred_at=datetime(2025, 1, 15, 11, 0, 42, tzinfo=UTC)
    )

    response = api.get("/api/v1/events", {"until": "2025-01-15T11:00"})

    assert response.status_code == 200
    assert [event["number"] for event in response.json()["data"]] == ["+14155550178"]
    assert api.get("/api/v1/events", {"until": "2025-01-15T10:59"}).json()["data"] == []


@pytest.mark.parametrize("until", ["9999-12-31", "9999-12-31T23:59", "9999-12-31T23:59:59"])
def test_until_the_last_day_there_is_means_no_upper_bound(api, two_numbers, until):
    response = api.get(URL, {"until": until})

    assert response.status_code == 200
    assert len(response.json()["data"]) == NumberEvent.objects.count()
