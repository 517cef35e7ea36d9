"""GET /api/v1/numbers/{id}/events — a number's audit timeline: every change made through the
API, newest first, still readable after the number is deleted."""

import pytest
from django.db.models import Max

from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import OWNER_TOKEN, TEST_ACTOR, events_of
from tests.contract import EVENT_KEYS, NUMBERS_URL, TIMESTAMP, iso, number_url
from tests.helpers import assert_error, assert_validation_error, create_number, put_number, queries

PLAIN_STATE = {"status": "active", "provider": "manual", "voice_agent": None, "text_agent": None, "trunk": None}


def events_url(pk: int) -> str:
    return f"{number_url(pk)}/events"


def timeline(api, pk: int, **params) -> list[dict]:
    response = api.get(events_url(pk), params)
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def changes(data: list[dict]) -> list[tuple]:
    """(action, field, before, after) of each event of a response, in its order."""
    return [(e["action"], e["field"], e["before"], e["after"]) for e in data]


def named(agent) -> dict:
    return {"id": agent.pk, "name": agent.name}


@pytest.fixture
def sales(account, make_voice_agent):
    return make_voice_agent(account, "Sales")


@pytest.fixture
def support(account, make_voice_agent):
    return make_voice_agent(account, "Support")


# --- the envelope and the event object -------------------------------------------------------


def test_the_timeline_is_a_page_of_event_objects_with_their_keys_in_order(api):
    pk = create_number(api, "+14155550123")

    response = api.get(events_url(pk))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "links", "meta"]
    event = NumberEvent.objects.get(number_id=pk)
    assert [list(item) for item in body["data"]] == [EVENT_KEYS]
    assert body["data"] == [
        {
            "id": event.pk,
            "number_id": pk,
            "number": "+14155550123",
            "action": "created",
            "field": None,
            "before": None,
            "after": PLAIN_STATE,
            "actor_type": "token",
            "actor_name": "Owner token",
            "channel": "api",
            "occurred_at": iso(event.occurred_at),
        }
    ]
    assert TIMESTAMP.fullmatch(body["data"][0]["occurred_at"])
    assert body["meta"]["total"] == 1
    assert (body["meta"]["current_page"], body["meta"]["last_page"], body["meta"]["per_page"]) == (1, 1, 15)
    assert body["links"]["next"] is None and body["links"]["prev"] is None


def test_events_come_newest_first(api, sales):
    pk = create_number(api)
    put_number(api, pk, {"status": "inactive"})
    put_number(api, pk, {"voice_agent_id": sales.pk})
    put_number(api, pk, {"provider": "twilio"})

    data = timeline(api, pk)

    assert [e["action"] for e in data] == ["provider_changed", "assigned", "deactivated", "created"]
    ids = [e["id"] for e in data]
    assert ids == sorted(ids, reverse=True)
    assert ids == list(NumberEvent.objects.filter(number_id=pk).order_by("-id").values_list("id", flat=True))


# --- every kind of change made through the API -------------------------------------------------


def test_creating_with_assignments_records_the_whole_state(api, account, sales, make_text_agent, make_trunk):
    chat, edge = make_text_agent(account, "Chat"), make_trunk(account, "Edge")

    pk = create_number(api, provider="twilio", voice_agent_id=sales.pk, text_agent_id=chat.pk, trunk_id=edge.pk)
    data = timeline(api, pk)

    state = {
        "status": "active",
        "provider": "twilio",
        "voice_agent": named(sales),
        "text_agent": named(chat),
        "trunk": named(edge),
    }
    assert changes(data) == [("created", None, None, state)]
    assert (data[0]["actor_type"], data[0]["actor_name"], data[0]["channel"]) == OWNER_TOKEN
    assert events_of(pk) == [("created", "", None, state, *OWNER_TOKEN)]


def test_a_status_change_records_deactivated_then_activated(api):
    pk = create_number(api)

    put_number(api, pk, {"status": "inactive"})
    put_number(api, pk, {"status": "active"})
    data = timeline(api, pk)

    assert changes(data) == [
        ("activated", "status", "inactive", "active"),
        ("deactivated", "status", "active", "inactive"),
        ("created", None, None, PLAIN_STATE),
    ]
    assert all((e["actor_type"], e["actor_name"], e["channel"]) == OWNER_TOKEN for e in data)
    assert events_of(pk)[1:] == [
        ("deactivated", "status", "active", "inactive", *OWNER_TOKEN),
        ("activated", "status", "inactive", "active", *OWNER_TOKEN),
    ]


def test_assigning_and_changing_a_voice_agent_records_each_agent_by_id_and_name(api, sales, support):
    pk = create_number(api)

    put_number(api, pk, {"voice_agent_id": sales.pk})
    put_number(api, pk, {"voice_agent_id": support.pk})
    data = timeline(api, pk)

    assert changes(data)[:2] == [
        ("assigned", "voice_agent", named(sales), named(support)),
        ("assigned", "voice_agent", None, named(sales)),
    ]
    assert events_of(pk)[-1] == ("assigned", "voice_agent", named(sales), named(support), *OWNER_TOKEN)


def test_unassigning_records_unassigned_with_a_null_after(api, account, sales, make_text_agent, make_trunk):
    chat, edge = make_text_agent(account, "Chat"), make_trunk(account, "Edge")
    pk = create_number(api, voice_agent_id=sales.pk, text_agent_id=chat.pk, trunk_id=edge.pk)

    put_number(api, pk, {"voice_agent_id": None, "text_agent_id": None, "trunk_id": None})
    data = timeline(api, pk)

    assert sorted(changes(data)[:3]) == [
        ("unassigned", "text_agent", named(chat), None),
        ("unassigned", "trunk", named(edge), None),
        ("unassigned", "voice_agent", named(sales), None),
    ]
    assert len(data) == 4
    assert PhoneNumber.objects.filter(pk=pk, voice_agent=None, text_agent=None, trunk=None).exists()


def test_a_provider_change_records_provider_changed(api):
    pk = create_number(api)

    put_number(api, pk, {"provider": "twilio"})
    data = timeline(api, pk)

    assert changes(data)[0] == ("provider_changed", "provider", "manual", "twilio")
    assert events_of(pk)[-1] == ("provider_changed", "provider", "manual", "twilio", *OWNER_TOKEN)


def test_a_put_of_several_fields_records_one_event_per_changed_field(api, account, sales, make_trunk):
    edge = make_trunk(account, "Edge")
    pk = create_number(api, voice_agent_id=sales.pk)

    put_number(api, pk, {"provider": "twilio", "status": "inactive", "trunk_id": edge.pk, "voice_agent_id": sales.pk})
    data = timeline(api, pk)

    assert sorted(changes(data)[:3]) == [
        ("assigned", "trunk", None, named(edge)),
        ("deactivated", "status", "active", "inactive"),
        ("provider_changed", "provider", "manual", "twilio"),
    ]
    assert len(data) == 4  # the unchanged voice agent recorded nothing
    # One change, one moment.
    assert len({e["occurred_at"] for e in data[:3]}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "active"},
        {"provider": "manual", "voice_agent_id": "sales", "text_agent_id": None, "trunk_id": None},
        {"number": "+14155550123"},
    ],
)
def test_a_put_that_changes_nothing_records_nothing(api, sales, body):
    pk = create_number(api, voice_agent_id=sales.pk)
    if body.get("voice_agent_id") == "sales":
        body = {**body, "voice_agent_id": sales.pk}

    response = api.put(number_url(pk), body, format="json")

    assert response.status_code == 200
    assert [e["action"] for e in timeline(api, pk)] == ["created"]
    assert NumberEvent.objects.filter(number_id=pk).count() == 1


def test_the_activate_and_deactivate_endpoints_record_their_change_once(api):
    pk = create_number(api, "+14155550123")

    first = api.post(f"{NUMBERS_URL}/deactivate", {"number": "+1 (415) 555-0123"}, format="json")
    again = api.post(f"{NUMBERS_URL}/deactivate", {"number": "+14155550123"}, format="json")
    back = api.post(f"{NUMBERS_URL}/activate", {"number": "+14155550123"}, format="json")

    assert (first.status_code, again.status_code, back.status_code) == (200, 200, 200)
    assert changes(timeline(api, pk)) == [
        ("activated", "status", "inactive", "active"),
        ("deactivated", "status", "active", "inactive"),
        ("created", None, None, PLAIN_STATE),
    ]
    assert [row[0] for row in events_of(pk)] == ["created", "deactivated", "activated"]


def test_deleting_records_the_state_it_had_and_the_timeline_outlives_the_number(api, sales):
    pk = create_number(api, "+14155550123", voice_agent_id=sales.pk)
    put_number(api, pk, {"status": "inactive"})

    deleted = api.delete(number_url(pk))
    response = api.get(events_url(pk))

    assert deleted.status_code == 204
    assert response.status_code == 200
    data = response.json()["data"]
    state = {**PLAIN_STATE, "status": "inactive", "voice_agent": named(sales)}
    assert changes(data) == [
        ("deleted", None, state, None),
        ("deactivated", "status", "active", "inactive"),
        ("created", None, None, {**PLAIN_STATE, "voice_agent": named(sales)}),
    ]
    assert {(e["number_id"], e["number"]) for e in data} == {(pk, "+14155550123")}
    assert not PhoneNumber.objects.filter(pk=pk).exists()
    assert events_of(pk)[-1] == ("deleted", "", state, None, *OWNER_TOKEN)


def test_an_idempotent_retry_of_a_create_records_one_event(api):
    body = {"number": "+14155550123"}
    first = api.post(NUMBERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    retry = api.post(NUMBERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")

    assert first.status_code == retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    pk = first.json()["id"]
    assert [e["action"] for e in timeline(api, pk)] == ["created"]
    assert NumberEvent.objects.count() == 1


def test_a_number_with_no_recorded_events_has_an_empty_timeline(api, account, make_number):
    # Numbers created before the timeline existed (or baked here) have no events yet.
    number = make_number(account)

    response = api.get(events_url(number.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert (body["meta"]["total"], body["meta"]["from"], body["meta"]["to"]) == (0, None, None)


def test_the_timeline_holds_only_this_numbers_events(api):
    pk = create_number(api, "+14155550123")
    other = create_number(api, "+14155550124")
    put_number(api, other, {"status": "inactive"})

    data = timeline(api, pk)

    assert [(e["number_id"], e["action"]) for e in data] == [(pk, "created")]


# --- pagination ---------------------------------------------------------------------------------


@pytest.fixture
def five_events(api) -> tuple[int, list[int]]:
    """A number with five events (created, then four status changes); their ids newest first."""
    pk = create_number(api)
    for status in ("inactive", "active", "inactive", "active"):
        put_number(api, pk, {"status": status})
    return pk, list(NumberEvent.objects.filter(number_id=pk).order_by("-id").values_list("id", flat=True))


def test_it_pages_with_per_page_and_page(api, five_events):
    pk, ids = five_events
    base = f"http://testserver{events_url(pk)}"

    first = api.get(events_url(pk), {"per_page": 2})
    second = api.get(events_url(pk), {"per_page": 2, "page": 2})
    last = api.get(events_url(pk), {"per_page": 2, "page": 3})

    assert (first.status_code, second.status_code, last.status_code) == (200, 200, 200)
    assert [e["id"] for e in first.json()["data"]] == ids[:2]
    assert [e["id"] for e in second.json()["data"]] == ids[2:4]
    assert [e["id"] for e in last.json()["data"]] == ids[4:]
    assert last.json()["data"][0]["action"] == "created"
    assert second.json()["links"] == {
        "first": f"{base}?per_page=2&page=1",
        "last": f"{base}?per_page=2&page=3",
        "prev": f"{base}?per_page=2&page=1",
        "next": f"{base}?per_page=2&page=3",
    }
    assert second.json()["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 3,
        "path": base,
        "per_page": 2,
        "to": 4,
        "total": 5,
    }
    assert first.json()["links"]["next"] == f"{base}?per_page=2&page=2"
    assert last.json()["links"]["next"] is None


def test_a_page_past_the_end_is_empty(api, five_events):
    pk, _ = five_events

    response = api.get(events_url(pk), {"page": 9})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total"] == 5


@pytest.mark.parametrize("param", ["page", "per_page"])
@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_an_invalid_page_or_per_page_is_a_422_naming_it(api, five_events, param, value):
    pk, _ = five_events

    response = api.get(events_url(pk), {param: value})

    assert_validation_error(response, param)


# --- who may read it ------------------------------------------------------------------------------


def test_a_teammates_token_sees_the_timeline_and_its_own_changes_are_named_after_it(api, teammate_api):
    pk = create_number(api)

    changed = teammate_api.put(number_url(pk), {"status": "inactive"}, format="json")
    response = teammate_api.get(events_url(pk))

    assert changed.status_code == 200
    assert response.status_code == 200
    data = response.json()["data"]
    assert [(e["action"], e["actor_type"], e["actor_name"], e["channel"]) for e in data] == [
        ("deactivated", "token", "Teammate token", "api"),
        ("created", "token", "Owner token", "api"),
    ]
    assert events_of(pk)[-1] == ("deactivated", "status", "active", "inactive", "token", "Teammate token", "api")


def test_a_read_only_token_can_read_the_timeline(api, read_only_api):
    pk = create_number(api)

    response = read_only_api.get(events_url(pk))

    assert response.status_code == 200
    assert [e["action"] for e in response.json()["data"]] == ["created"]


def test_an_outsider_gets_404_for_an_existing_number_and_for_a_deleted_one(api, outsider_api):
    pk = create_number(api)

    existing = outsider_api.get(events_url(pk))
    api.delete(number_url(pk))
    deleted = outsider_api.get(events_url(pk))

    assert_error(existing, 404, "not_found")
    assert_error(deleted, 404, "not_found")
    assert "+14155550123" not in existing.content.decode() + deleted.content.decode()
    assert NumberEvent.objects.filter(number_id=pk).count() == 2  # nothing was touched


def test_an_outsiders_own_events_are_not_mixed_into_the_timeline(api, outsider_api):
    pk = create_number(api, "+14155550123")
    theirs = create_number(outsider_api, "+14155550124")

    response = outsider_api.get(events_url(theirs))

    assert response.status_code == 200
    assert [(e["number_id"], e["actor_name"]) for e in response.json()["data"]] == [(theirs, "Outsider token")]
    assert pk not in [e["number_id"] for e in response.json()["data"]]


def test_an_id_that_never_existed_is_404(api):
    create_number(api)
    never = (PhoneNumber.objects.aggregate(top=Max("id"))["top"] or 0) + 1000

    response = api.get(events_url(never))

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
def test_an_id_no_row_can_have_is_404(api, pk):
    response = api.get(f"{NUMBERS_URL}/{pk}/events")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("param", ["action", "status", "number", "since"])
def test_an_unknown_query_parameter_is_a_422_naming_it(api, param):
    pk = create_number(api)

    response = api.get(events_url(pk), {param: "created"})

    fields = assert_validation_error(response, param)
    assert fields[param] == ["Unknown query parameter."]


def test_anonymous_requests_are_401(api, anonymous_api):
    pk = create_number(api)

    response = anonymous_api.get(events_url(pk))

    assert_error(response, 401, "unauthenticated")


# --- query budget -----------------------------------------------------------------------------

# The token, the count, the page of events (ids and rows in one statement).
TIMELINE_QUERIES = 3


@pytest.mark.parametrize("count", [5, 50])
def test_the_timeline_runs_a_fixed_number_of_queries_whatever_the_events(api, count):
    pk = create_number(api)
    number = PhoneNumber.objects.get(pk=pk)
    for i in range(count - 1):
        services.number_set_status(actor=TEST_ACTOR, number=number, active=i % 2 == 1)
    api.get(events_url(pk))  # a token's first use writes its last_used_at: not part of the budget

    with queries() as captured:
        response = api.get(events_url(pk), {"per_page": 100})

    assert response.status_code == 200
    assert len(response.json()["data"]) == count
    assert len(captured.statements) == TIMELINE_QUERIES, captured.statements
