"""`routable`: one rule (docs/API.md §9). The stored column PhoneNumber.routable, the tally's
count of routable numbers and the lookup's verdict agree for every combination of the
inputs, and the list, the API, the export and the sidebar filter and count by it."""

import csv
import io
import itertools

import pytest
from django.db import connection

from agents_app.services import agent_delete
from numbers_app import services
from numbers_app.models import PhoneNumber
from numbers_app.selectors import number_routing
from numbers_app.tally import number_facet_counts, number_total
from tests.audit import TEST_ACTOR
from tests.helpers import assert_validation_error

# status × provider × voice agent × text agent × trunk: every input the verdict reads.
COMBINATIONS = list(
    itertools.product(["active", "inactive"], ["manual", "twilio"], [False, True], [False, True], [False, True])
)


@pytest.fixture
def every_combination(account, make_number, make_voice_agent, make_text_agent, make_trunk):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    numbers = []
    for status, provider, has_voice, has_text, has_trunk in COMBINATIONS:
        numbers.append(
            make_number(
                account,
                status=status,
                provider=provider,
                voice_agent=voice if has_voice else None,
                text_agent=text if has_text else None,
                trunk=trunk if has_trunk else None,
            )
        )
    return numbers


def stored_routable(numbers) -> dict[int, bool]:
    return dict(PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).values_list("id", "routable"))


def verdicts(numbers) -> dict[int, bool]:
    return {n.pk: number_routing(PhoneNumber.objects.get(pk=n.pk))[0] for n in numbers}


def test_the_column_is_the_lookups_verdict_for_every_combination(every_combination):
    assert len(every_combination) == 32
    verdict = verdicts(every_combination)
    assert stored_routable(every_combination) == verdict
    # Both verdicts occur, so the comparison could fail either way.
    # Active, and an agent (3 of the 4 ways), and twilio or a trunk (3 of the 4 ways).
    assert sum(verdict.values()) == 9


def test_the_tally_counts_routable_numbers_by_the_same_rule(account, every_combination):
    routable = sum(verdicts(every_combination).values())
    counts = number_facet_counts(account=account, params={})
    assert counts["routable"] == {"true": routable, "false": 32 - routable}
    assert number_total(account=account, filters={"routable": "true"}, numbers=None) == routable
    assert number_total(account=account, filters={"routable": "false"}, numbers=None) == 32 - routable
    # Combined with another filter, still from the tally.
    assert number_total(account=account, filters={"routable": "true", "provider": "twilio"}, numbers=None) == 6


def test_the_column_follows_updates_and_cascades(account, make_number, make_voice_agent, make_trunk):
    agent, trunk = make_voice_agent(account), make_trunk(account)
    number = make_number(account, voice_agent=agent)
    assert stored_routable([number]) == {number.pk: False}  # manual, no trunk
    services.number_update(actor=TEST_ACTOR, number=number, trunk=trunk)
    assert stored_routable([number]) == {number.pk: True}
    services.number_bulk_update(actor=TEST_ACTOR, account=account, ids=[number.pk], status="inactive")
    assert stored_routable([number]) == {number.pk: False}
    services.number_bulk_update(actor=TEST_ACTOR, account=account, ids=[number.pk], status="active")
    trunk.delete()  # the database's SET NULL
    assert stored_routable([number]) == {number.pk: False}
    services.number_update(actor=TEST_ACTOR, number=number, provider="twilio")
    assert stored_routable([number]) == {number.pk: True}
    agent_delete(actor=TEST_ACTOR, agent=agent)
    assert stored_routable([number]) == {number.pk: False}
    assert number_facet_counts(account=account, params={})["routable"] == {"false": 1}


def test_the_filter_has_an_index_leading_with_the_account(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, PhoneNumber._meta.db_table)
    assert any(c["index"] and c["columns"] == ["account_id", "routable", "id"] for c in constraints.values())


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False)])
def test_the_api_list_filters_by_routable(api, every_combination, value, expected):
    response = api.get("/api/v1/numbers", {"routable": value, "per_page": 100})
    assert response.status_code == 200
    body = response.json()
    wanted = sorted(pk for pk, routable in verdicts(every_combination).items() if routable is expected)
    assert [row["id"] for row in body["data"]] == wanted
    assert body["meta"]["total"] == len(wanted)
    assert "routable" not in body["data"][0]  # the Number object keeps exactly its keys


def test_routable_combines_with_the_other_filters(api, every_combination):
    response = api.get("/api/v1/numbers", {"routable": "false", "status": "active", "per_page": 100})
    ids = [row["id"] for row in response.json()["data"]]
    assert len(ids) == 16 - 9
    assert all(PhoneNumber.objects.get(pk=pk).status == "active" for pk in ids)


@pytest.mark.parametrize("value", ["yes", "1", "True", "TRUE", "maybe"])
def test_a_routable_value_other_than_true_or_false_is_422(api, every_combination, value):
    response = api.get("/api/v1/numbers", {"routable": value})
    assert_validation_error(response, "routable")


def test_the_export_takes_the_routable_filter(api, every_combination):
    response = api.get("/api/v1/numbers/export.csv", {"routable": "true"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    wanted = {n.number for n in every_combination if stored_routable([n])[n.pk]}
    assert {row["number"] for row in rows} == wanted
    assert_validation_error(api.get("/api/v1/numbers/export.csv", {"routable": "no"}), "routable")


# --- the dashboard ---------------------------------------------------------------------------


def sidebar(response, param: str) -> dict[str, int]:
    for _title, facet in response.context["facets"]:
        if facet["param"] == param:
            return {choice["value"]: choice["count"] for choice in facet["choices"]}
    raise AssertionError(f"no facet for {param}")


def test_the_dashboard_lists_active_numbers_that_are_not_routable(client, owner, every_combination):
    client.force_login(owner)
    response = client.get("/numbers/", {"status": "active", "routable": "false", "per_page": 100})
    assert response.status_code == 200
    shown = {number["id"] for number in response.context["page"].object_list}
    wanted = {pk for pk, routable in verdicts(every_combination).items() if not routable}
    wanted &= {n.pk for n in every_combination if n.status == "active"}
    assert shown == wanted and len(wanted) == 7
    # The sidebar counts routing given the other filters (status=active), and links to it.
    assert sidebar(response, "routable") == {"true": 9, "false": 7}
    body = response.content.decode()
    assert '<section class="facet" data-param="routable">' in body
    assert "Not routable" in body
    assert sidebar(response, "status") == {"active": 7, "inactive": 16}


def test_the_sidebar_counts_routing_with_a_search_too(client, owner, account, make_number, make_voice_agent):
    agent = make_voice_agent(account)
    make_number(account, "+14155550101", provider="twilio", voice_agent=agent)
    make_number(account, "+14155550102")
    make_number(account, "+14155559999", provider="twilio", voice_agent=agent)
    client.force_login(owner)
    response = client.get("/numbers/", {"search": "555010"})
    assert sidebar(response, "routable") == {"true": 1, "false": 1}
    response = client.get("/numbers/", {"search": "555010", "routable": "true"})
    assert [n["number"] for n in response.context["page"].object_list] == ["+14155550101"]


def test_an_invalid_routable_value_is_shown_and_ignored(client, owner, every_combination):
    client.force_login(owner)
    response = client.get("/numbers/", {"routable": "perhaps", "per_page": 100})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 32
    assert "routable" in response.context["filterset"].errors
