"""POST /api/v1/numbers/bulk — one action on many numbers (issue: operator power features,
part 2)."""

import json

import pytest

from numbers_app.models import PhoneNumber

URL = "/api/v1/numbers/bulk"


@pytest.fixture
def three(account, make_number):
    return [make_number(account, number=f"+1555000000{i}") for i in range(3)]


def test_it_deactivates_numbers_given_by_number_with_a_result_per_item(api, three):
    response = api.post(
        URL,
        {"action": "deactivate", "numbers": ["+1 555 000 0000", "+15550000001", "+15559999999", "abc"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["action"] == "deactivate"
    assert body["changed"] == 2
    assert [item["result"] for item in body["results"]] == ["ok", "ok", "not_found", "error"]
    assert body["results"][0] == {
        "input": "+1 555 000 0000",
        "id": three[0].id,
        "number": "+15550000000",
        "result": "ok",
        "message": None,
    }
    assert body["results"][3]["message"] == "Enter a phone number in E.164 format, e.g. +15551234567."
    assert list(PhoneNumber.objects.order_by("id").values_list("status", flat=True)) == [
        "inactive",
        "inactive",
        "active",
    ]


def test_it_assigns_and_unassigns_by_id(api, account, three, make_voice_agent, make_trunk):
    agent, trunk = make_voice_agent(account), make_trunk(account)
    ids = [n.id for n in three[:2]]
    assigned = api.post(
        URL, {"action": "assign", "ids": ids, "voice_agent_id": agent.id, "trunk_id": trunk.id}, format="json"
    )
    assert assigned.status_code == 200
    assert assigned.json()["changed"] == 2
    assert set(PhoneNumber.objects.filter(voice_agent=agent, trunk=trunk).values_list("id", flat=True)) == set(ids)
    unassigned = api.post(URL, {"action": "assign", "ids": ids, "trunk_id": None}, format="json")
    assert unassigned.json()["changed"] == 2
    assert PhoneNumber.objects.filter(trunk__isnull=False).count() == 0
    assert PhoneNumber.objects.filter(voice_agent=agent).count() == 2  # untouched


def test_it_deletes(api, three):
    response = api.post(URL, {"action": "delete", "ids": [three[0].id, three[0].id]}, format="json")
    assert response.status_code == 200
    assert response.json()["changed"] == 1
    assert [item["result"] for item in response.json()["results"]] == ["ok", "ok"]
    assert not PhoneNumber.objects.filter(pk=three[0].pk).exists()


def test_numbers_of_another_account_are_not_found_and_untouched(api, other_account, make_number):
    foreign = make_number(other_account)
    response = api.post(URL, {"action": "delete", "ids": [foreign.id, 2**70]}, format="json")
    assert response.status_code == 200
    assert [item["result"] for item in response.json()["results"]] == ["not_found", "not_found"]
    assert response.json()["changed"] == 0
    assert response.json()["results"][1]["input"] == 2**70  # echoed exactly, past 64 bits
    assert PhoneNumber.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "activate"}, "numbers"),
        ({"action": "activate", "numbers": ["+15550000000"], "ids": [1]}, "numbers"),
        ({"action": "explode", "ids": [1]}, "action"),
        ({"action": "assign", "ids": [1]}, "action"),
        ({"action": "activate", "ids": [1], "trunk_id": None}, "action"),
        ({"action": "activate", "ids": []}, "ids"),
        ({"action": "activate", "ids": [0]}, "ids"),
        ({"action": "activate", "ids": ["1"]}, "ids"),
        ({"action": "activate", "ids": list(range(1, 1002))}, "ids"),
        ({"action": "assign", "ids": [1], "voice_agent_id": 999999}, "voice_agent_id"),
    ],
)
def test_a_malformed_request_is_a_422_and_changes_nothing(api, three, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert PhoneNumber.objects.filter(status="active").count() == 3


def test_another_accounts_agent_is_a_422_worded_as_missing(api, three, other_account, make_voice_agent):
    agent = make_voice_agent(other_account)
    response = api.post(URL, {"action": "assign", "ids": [three[0].id], "voice_agent_id": agent.id}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"voice_agent_id": [f"Voice agent {agent.id} does not exist."]}


def test_a_read_only_token_may_not(read_only_api, three):
    assert read_only_api.post(URL, {"action": "delete", "ids": [three[0].id]}, format="json").status_code == 403
    assert PhoneNumber.objects.count() == 3


def test_an_idempotent_retry_replays_and_changes_nothing_more(api, account, three):
    body = json.dumps({"action": "delete", "ids": [three[0].id]})
    first = api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    retry = api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert first.json() == retry.json()
    assert retry["Idempotent-Replayed"] == "true"


def test_a_thousand_numbers_take_a_fixed_number_of_queries(api, account, make_number, django_assert_max_num_queries):
    numbers = [make_number(account) for _ in range(50)]
    api.get("/api/v1/numbers", {"per_page": 1})  # the token's first use writes last_used_at
    # The token, resolving the items, locking the rows that change, the UPDATE, one INSERT of
    # the audit events, the lookup of the account's webhook endpoints (none); plus two
    # SAVEPOINT/RELEASE pairs, which the test's own transaction turns the view's and the
    # service's atomic blocks into.
    with django_assert_max_num_queries(10):
        response = api.post(URL, {"action": "deactivate", "ids": [n.id for n in numbers]}, format="json")
    assert response.json()["changed"] == 50
