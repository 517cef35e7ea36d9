"""The sidebar's facet counts (numbers_app.tally.number_facet_counts): for every filter and
value, how many numbers clicking it would show, given all the other filters. One query
whatever the filters: the facet rows without filters, one grouped pass over the
combinations with filters, one over a bounded sample of the matches with a search (exact
when the sample holds them all, else labelled as lower bounds)."""

import random
import re

import pytest

from numbers_app import tally
from numbers_app.filters import UNASSIGNED
from numbers_app.models import NumberTally, PhoneNumber
from numbers_app.selectors import number_routing
from numbers_app.tally import FACETS, number_facet_counts
from tests.helpers import queries


@pytest.fixture
def varied(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    """60 numbers of the account over every filter value (and a few of another account's,
    which must never count), with digits to search for."""
    rng = random.Random(14)
    voice = [make_voice_agent(account) for _ in range(3)]
    text = [make_text_agent(account) for _ in range(2)]
    trunks = [make_trunk(account) for _ in range(2)]
    for i in range(60):
        make_number(
            account,
            f"+1415555{i:04d}" if i % 3 else f"+1212777{i:04d}",
            status=rng.choice(["active", "inactive"]),
            provider=rng.choice(["manual", "twilio"]),
            voice_agent=rng.choice([None, *voice]),
            text_agent=rng.choice([None, *text]),
            trunk=rng.choice([None, *trunks]),
        )
    foreign_agent = make_voice_agent(other_account)
    for _ in range(5):
        make_number(other_account, voice_agent=foreign_agent)
    return {"voice_agent_id": voice, "text_agent_id": text, "trunk_id": trunks}


def facet_value(number: PhoneNumber, facet: str):
    if facet == "routable":
        return "true" if number_routing(number)[0] else "false"
    return getattr(number, facet)


def matches(number: PhoneNumber, facet: str, value) -> bool:
    if facet in ("voice_agent_id", "text_agent_id", "trunk_id"):
        return getattr(number, facet) == (None if value == UNASSIGNED else int(value))
    return facet_value(number, facet) == value


def expected(account, params: dict) -> dict:
    """The counts by brute force: every number of the account, in Python."""
    numbers = list(PhoneNumber.objects.filter(account=account))
    if params.get("search"):
        numbers = [n for n in numbers if params["search"] in n.number[1:]]
    counts = {}
    for facet in FACETS:
        others = {f: v for f, v in params.items() if f in FACETS and f != facet}
        counted = {}
        for number in numbers:
            if all(matches(number, f, v) for f, v in others.items()):
                value = facet_value(number, facet)
                counted[value] = counted.get(value, 0) + 1
        counts[facet] = counted
    return counts


def random_params(rng, varied) -> dict:
    choices = {
        "status": ["active", "inactive"],
        "provider": ["manual", "twilio"],
        "routable": ["true", "false"],
        **{facet: [UNASSIGNED, *(str(o.id) for o in objects)] for facet, objects in varied.items()},
    }
    params = {facet: rng.choice(values) for facet, values in rng.sample(sorted(choices.items()), rng.randint(0, 4))}
    if rng.random() < 0.4:
        params["search"] = rng.choice(["555", "777", "5550", "41"])
    return params


def test_the_counts_are_exact_for_any_mix_of_filters_and_searches(account, varied):
    rng = random.Random(15)
    for _ in range(40):
        params = random_params(rng, varied)
        counts = number_facet_counts(account=account, params=params)
        assert counts == expected(account, params), params
        assert counts.exact


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "active"},
        {"routable": "false"},
        {"status": "active", "routable": "false"},
        {"voice_agent_id": "none", "provider": "twilio", "trunk_id": "none", "status": "inactive"},
        {"search": "555"},
        {"search": "555", "status": "active", "routable": "true"},
    ],
)
def test_they_take_one_query_whatever_the_filters(account, varied, params):
    with queries() as captured:
        counts = number_facet_counts(account=account, params=params)
    assert len(captured.statements) == 1, captured.statements
    assert counts == expected(account, params)


def test_without_filters_they_read_only_the_accounts_facet_rows(account, varied):
    with queries() as captured:
        number_facet_counts(account=account, params={})
    (sql,) = captured.statements
    assert "numbers_app_numberfacetcount" in sql
    assert "numbers_app_numbertally" not in sql and "numbers_app_phonenumber" not in sql


def test_a_single_filters_own_counts_come_from_its_facet_rows(account, varied):
    # Its own counts are what each value alone matches: the facet rows, however the
    # combinations are. Damage the combinations of the other status to prove it.
    NumberTally.objects.filter(account=account, status="inactive").update(count=1000)
    counts = number_facet_counts(account=account, params={"status": "active"})
    assert counts["status"] == expected(account, {"status": "active"})["status"]


@pytest.mark.postgres_only
def test_on_postgresql_the_filtered_counts_are_one_grouping_sets_query(account, varied):
    for params in ({"status": "active", "provider": "twilio"}, {"search": "555"}):
        with queries() as captured:
            number_facet_counts(account=account, params=params)
        assert "GROUPING SETS" in captured.statements[0]


def test_invalid_values_are_ignored_as_the_list_ignores_them(account, varied):
    params = {"status": "gone", "routable": "perhaps", "voice_agent_id": "x", "provider": "twilio"}
    assert number_facet_counts(account=account, params=params) == expected(account, {"provider": "twilio"})


def test_an_id_beyond_any_row_counts_nothing_for_the_others(account, varied):
    counts = number_facet_counts(account=account, params={"trunk_id": "99999999999999999999"})
    assert counts["status"] == {} and counts["routable"] == {}
    assert sum(counts["trunk_id"].values()) == 60


# --- a search matching many numbers: bounded, labelled ---------------------------------------


def test_a_search_matching_more_than_the_sample_counts_lower_bounds(account, varied, monkeypatch):
    monkeypatch.setattr(tally, "FACET_SEARCH_SAMPLE", 10)
    params = {"search": "555", "status": "active"}
    counts = number_facet_counts(account=account, params=params)
    truth = expected(account, params)
    assert not counts.exact and counts.sample == 10
    for facet in FACETS:
        for value, count in counts[facet].items():
            assert count <= truth[facet][value]
    # Among at most 11 matches of the search (and all filters but at most one).
    assert sum(counts["status"].values()) <= 11
    assert sum(counts["provider"].values()) <= sum(counts["status"].values())


def test_a_search_matching_no_more_than_the_sample_is_exact(account, varied, monkeypatch):
    params = {"search": "777"}  # 20 numbers
    monkeypatch.setattr(tally, "FACET_SEARCH_SAMPLE", 20)
    counts = number_facet_counts(account=account, params=params)
    assert counts.exact and counts == expected(account, params)
    monkeypatch.setattr(tally, "FACET_SEARCH_SAMPLE", 19)
    assert not number_facet_counts(account=account, params=params).exact


def test_the_dashboard_labels_lower_bounds(client, owner, account, varied, monkeypatch):
    client.force_login(owner)
    response = client.get("/numbers/", {"search": "777"})
    body = response.content.decode()
    assert "≥" not in body and "at least" not in body

    monkeypatch.setattr(tally, "FACET_SEARCH_SAMPLE", 5)
    response = client.get("/numbers/", {"search": "777"})
    body = response.content.decode()
    status = re.search(r'<section class="facet" data-param="status">(.*?)</section>', body, re.S).group(1)
    assert re.search(r'<span class="count" title="at least \d+">≥\d+</span>', status)
    assert "each count is at least the one shown (counted among the first 5 matches)" in body
    # The list itself and its total stay exact.
    assert response.context["page"].paginator.count == 20


def test_the_facet_query_is_scoped_to_the_account(account, other_account, varied):
    for params in ({}, {"status": "active"}, {"search": "5"}, {"status": "active", "provider": "manual"}):
        counts = number_facet_counts(account=other_account, params=params)
        assert counts == expected(other_account, params)
        assert sum(counts["provider"].values()) <= 5
