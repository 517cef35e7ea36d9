"""NumberTally stays exactly equal to the numbers it counts, whatever writes them: services,
bulk statements, cascades of deleted agents, trunks and accounts."""

import random
from collections import Counter

import pytest
from django.db.models import Count
from django.db.models.functions import Coalesce

from agents_app.services import agent_delete
from kalem_site.accounts.models import Account
from numbers_app import services
from numbers_app.models import NumberFacetCount, NumberTally, PhoneNumber
from numbers_app.selectors import number_routing
from tests.audit import TEST_ACTOR


def actual() -> dict:
    rows = (
        PhoneNumber.objects.annotate(
            v=Coalesce("voice_agent_id", 0), x=Coalesce("text_agent_id", 0), k=Coalesce("trunk_id", 0)
        )
        .values_list("account_id", "status", "provider", "v", "x", "k")
        .annotate(n=Count("id"))
    )
    return {row[:6]: row[6] for row in rows}


def tallied() -> dict:
    rows = NumberTally.objects.filter(count__gt=0).values_list(
        "account_id", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id", "count"
    )
    return {row[:6]: row[6] for row in rows}


def facets_actual() -> dict:
    """{(account, facet, value): count} counted in Python from the numbers themselves."""
    counts = Counter()
    for number in PhoneNumber.objects.all():
        counts[(number.account_id, "total", "")] += 1
        counts[(number.account_id, "status", number.status)] += 1
        counts[(number.account_id, "provider", number.provider)] += 1
        for facet in ("voice_agent_id", "text_agent_id", "trunk_id"):
            counts[(number.account_id, facet, str(getattr(number, facet) or "none"))] += 1
        counts[(number.account_id, "routable", "true" if number_routing(number)[0] else "false")] += 1
    return dict(counts)


def facets_tallied() -> dict:
    rows = NumberFacetCount.objects.filter(count__gt=0).values_list("account_id", "facet", "value", "count")
    return {row[:3]: row[3] for row in rows}


def assert_exact():
    assert tallied() == actual()
    assert facets_tallied() == facets_actual()


def test_it_counts_created_numbers(account, make_number, make_voice_agent):
    agent = make_voice_agent(account)
    make_number(account, voice_agent=agent)
    make_number(account, voice_agent=agent)
    make_number(account, status="inactive")
    assert_exact()
    assert tallied()[(account.id, "active", "manual", agent.id, 0, 0)] == 2
    assert facets_tallied()[(account.id, "total", "")] == 3
    assert facets_tallied()[(account.id, "voice_agent_id", str(agent.id))] == 2
    assert facets_tallied()[(account.id, "voice_agent_id", "none")] == 1


def test_it_follows_updates_bulk_updates_and_deletes(account, make_number, make_trunk):
    trunk = make_trunk(account)
    numbers = [make_number(account) for _ in range(6)]
    services.number_update(actor=TEST_ACTOR, number=numbers[0], status="inactive", provider="twilio")
    services.number_bulk_update(actor=TEST_ACTOR, account=account, ids=[n.id for n in numbers[1:4]], trunk=trunk)
    services.number_bulk_delete(actor=TEST_ACTOR, account=account, ids=[numbers[4].id])
    services.number_delete(actor=TEST_ACTOR, number=numbers[5])
    assert_exact()


def test_it_follows_cascades_of_deleted_agents_trunks_and_accounts(
    account, other_account, make_number, make_voice_agent, make_trunk
):
    agent, trunk = make_voice_agent(account), make_trunk(account)
    for _ in range(3):
        make_number(account, voice_agent=agent, trunk=trunk)
    make_number(other_account)
    agent_delete(actor=TEST_ACTOR, agent=agent)
    trunk.delete()  # the database's SET NULL, not the service: the tally follows all the same
    assert_exact()
    Account.objects.filter(pk=account.pk).delete()
    assert_exact()
    assert not NumberTally.objects.filter(account_id=account.id).exists()
    assert not NumberFacetCount.objects.filter(account_id=account.id).exists()


def test_it_stays_exact_through_a_random_sequence_of_changes(
    account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk
):
    rng = random.Random(7)
    accounts = [account, other_account]
    related = {
        a.id: {
            "voice_agent": [make_voice_agent(a) for _ in range(2)],
            "text_agent": [make_text_agent(a)],
            "trunk": [make_trunk(a) for _ in range(2)],
        }
        for a in accounts
    }
    numbers = [make_number(rng.choice(accounts)) for _ in range(20)]
    for _ in range(60):
        number = rng.choice(numbers)
        field = rng.choice(["status", "provider", "voice_agent", "text_agent", "trunk"])
        if field == "status":
            value = rng.choice(["active", "inactive"])
        elif field == "provider":
            value = rng.choice(["manual", "twilio"])
        else:
            value = rng.choice([None, *related[number.account_id][field]])
        services.number_update(actor=TEST_ACTOR, number=number, **{field: value})
    assert_exact()


@pytest.mark.parametrize("status, expected", [("active", 2), ("inactive", 1)])
def test_a_single_filters_total_is_its_facet_row(api, account, make_number, status, expected):
    make_number(account)
    make_number(account)
    make_number(account, status="inactive")
    # Break the facet row on purpose: the total shown must be its count, not a COUNT(*) or a
    # sum over combinations.
    NumberFacetCount.objects.filter(account=account, facet="status", value=status).update(count=expected + 40)
    NumberTally.objects.filter(account=account).update(count=1000)
    response = api.get("/api/v1/numbers", {"status": status})
    assert response.json()["meta"]["total"] == expected + 40


def test_the_unfiltered_total_is_the_accounts_total_row(api, account, make_number):
    make_number(account)
    NumberFacetCount.objects.filter(account=account, facet="total").update(count=77)
    assert api.get("/api/v1/numbers").json()["meta"]["total"] == 77


def test_the_total_of_several_filters_sums_the_combinations(api, account, make_number):
    make_number(account)
    make_number(account, provider="twilio")
    NumberTally.objects.filter(account=account, status="active", provider="manual").update(count=40)
    response = api.get("/api/v1/numbers", {"status": "active", "provider": "manual"})
    assert response.json()["meta"]["total"] == 40
