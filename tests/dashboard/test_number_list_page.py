"""GET /numbers/: the table, its filters with their counts, search, pagination and per-page,
all kept in the URL; invalid filters are reported, never a 500."""

import re
from dataclasses import dataclass

import pytest

from agents_app.models import TextAgent, VoiceAgent
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import assert_login_redirect, fill_account, html


def listed(response) -> list[str]:
    return [number["number"] for number in response.context["page"].object_list]


def facet(response, param: str) -> dict[str, int]:
    """The counts the sidebar shows for one filter, by the value its link selects."""
    for _title, facet in response.context["facets"]:
        if facet["param"] == param:
            return {choice["value"]: choice["count"] for choice in facet["choices"]}
    raise AssertionError(f"no facet for {param}")


def facet_html(response, param: str) -> str:
    match = re.search(rf'<section class="facet" data-param="{param}">(.*?)</section>', html(response), re.S)
    assert match, f"no facet section for {param}"
    return match.group(1)


@dataclass
class Catalog:
    sales: VoiceAgent
    support: VoiceAgent
    chat: TextAgent
    main: SipTrunk
    backup: SipTrunk
    n1: PhoneNumber
    n2: PhoneNumber
    n3: PhoneNumber
    n4: PhoneNumber
    n5: PhoneNumber
    foreign: PhoneNumber
    foreign_agent: VoiceAgent
    foreign_trunk: SipTrunk


@pytest.fixture
def catalog(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk) -> Catalog:
    """Five numbers of the account covering every filter value, and one of another account
    that uses that account's own agent and trunk."""
    sales = make_voice_agent(account, "Sales")
    support = make_voice_agent(account, "Support")
    chat = make_text_agent(account, "Chat")
    main = make_trunk(account, "Main")
    backup = make_trunk(account, "Backup")
    foreign_agent = make_voice_agent(other_account, "Globex voice")
    foreign_trunk = make_trunk(other_account, "Globex trunk")
    return Catalog(
        sales=sales,
        support=support,
        chat=chat,
        main=main,
        backup=backup,
        n1=make_number(account, "+14155550101", status="active", voice_agent=sales, text_agent=chat, trunk=main),
        n2=make_number(account, "+14155550102", status="inactive", voice_agent=sales, trunk=backup),
        n3=make_number(account, "+14155550103", status="active", provider="twilio", voice_agent=support),
        n4=make_number(account, "+442071838750", status="inactive", provider="twilio", text_agent=chat, trunk=main),
        n5=make_number(account, "+14155550105", status="active"),
        foreign=make_number(
            other_account, "+14155550199", status="active", voice_agent=foreign_agent, trunk=foreign_trunk
        ),
        foreign_agent=foreign_agent,
        foreign_trunk=foreign_trunk,
    )


# --- who sees what ---------------------------------------------------------------------------


def test_the_owner_sees_the_accounts_numbers_in_a_table(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert listed(response) == ["+14155550101", "+14155550102", "+14155550103", "+442071838750", "+14155550105"]
    body = html(response)
    row = re.search(r'<tr data-number="\+14155550101">(.*?)</tr>', body, re.S).group(1)
    assert "Active" in row and "Manual" in row and "Sales" in row and "Chat" in row and "Main" in row
    assert f'href="/numbers/{catalog.n1.pk}/"' in row
    assert f'formaction="/numbers/{catalog.n1.pk}/deactivate/"' in row
    inactive_row = re.search(r'<tr data-number="\+14155550102">(.*?)</tr>', body, re.S).group(1)
    assert f'formaction="/numbers/{catalog.n2.pk}/activate/"' in inactive_row


def test_a_teammate_sees_the_same_numbers(client, teammate, catalog):
    client.force_login(teammate)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert len(listed(response)) == 5


def test_another_accounts_numbers_agents_and_trunks_appear_nowhere(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    body = html(response)
    assert "+14155550199" not in body
    assert "Globex voice" not in body
    assert "Globex trunk" not in body
    assert str(catalog.foreign_agent.pk) not in facet(response, "voice_agent_id")
    assert str(catalog.foreign_trunk.pk) not in facet(response, "trunk_id")
    bulk_form = response.context["bulk_form"]
    assert catalog.foreign_agent not in bulk_form.fields["voice_agent"].queryset
    assert catalog.foreign_trunk not in bulk_form.fields["trunk"].queryset


def test_the_outsider_sees_only_their_own_number(client, outsider, catalog):
    client.force_login(outsider)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert listed(response) == ["+14155550199"]
    assert facet(response, "voice_agent_id") == {"none": 0, str(catalog.foreign_agent.pk): 1}
    assert "Sales" not in html(response)


def test_filtering_by_another_accounts_agent_or_trunk_shows_nothing(client, owner, catalog):
    client.force_login(owner)

    by_agent = client.get(f"/numbers/?voice_agent_id={catalog.foreign_agent.pk}")
    by_trunk = client.get(f"/numbers/?trunk_id={catalog.foreign_trunk.pk}")

    assert by_agent.status_code == by_trunk.status_code == 200
    assert listed(by_agent) == listed(by_trunk) == []
    assert "+14155550199" not in html(by_agent) + html(by_trunk)


def test_anonymous_visitors_are_sent_to_sign_in(client, catalog):
    assert_login_redirect(client.get("/numbers/?status=active"), "/numbers/?status=active")


def test_an_account_without_numbers_invites_to_add_one(client, owner):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert listed(response) == []
    assert "Add the first one" in html(response)


# --- each filter -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=active", ["n1", "n3", "n5"]),
        ("status=inactive", ["n2", "n4"]),
        ("voice_agent_id={sales}", ["n1", "n2"]),
        ("voice_agent_id={support}", ["n3"]),
        ("voice_agent_id=none", ["n4", "n5"]),
        ("text_agent_id={chat}", ["n1", "n4"]),
        ("text_agent_id=none", ["n2", "n3", "n5"]),
        ("trunk_id={main}", ["n1", "n4"]),
        ("trunk_id={backup}", ["n2"]),
        ("trunk_id=none", ["n3", "n5"]),
        ("provider=manual", ["n1", "n2", "n5"]),
        ("provider=twilio", ["n3", "n4"]),
        # combinations
        ("status=active&trunk_id=none", ["n3", "n5"]),
        ("status=inactive&voice_agent_id={sales}&trunk_id={backup}", ["n2"]),
        ("provider=manual&voice_agent_id=none&text_agent_id=none", ["n5"]),
        ("provider=twilio&text_agent_id={chat}&trunk_id={main}&status=inactive", ["n4"]),
        ("status=active&voice_agent_id={sales}&text_agent_id=none", []),
        ("status=active&search=555010", ["n1", "n3", "n5"]),
    ],
)
def test_each_filter_and_combination_lists_exactly_its_numbers(client, owner, catalog, query, expected):
    client.force_login(owner)
    ids = {"sales": catalog.sales.pk, "support": catalog.support.pk, "chat": catalog.chat.pk}
    ids |= {"main": catalog.main.pk, "backup": catalog.backup.pk}

    response = client.get(f"/numbers/?{query.format(**ids)}")

    assert response.status_code == 200
    assert listed(response) == [getattr(catalog, name).number for name in expected]
    assert not response.context["filterset"].errors


def test_the_unassigned_choices_are_offered_for_agents_and_trunk_but_not_status(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/")

    for param in ("voice_agent_id", "text_agent_id", "trunk_id"):
        assert "Unassigned" in facet_html(response, param)
        assert "none" in facet(response, param)
    assert "none" not in facet(response, "status")
    assert "none" not in facet(response, "provider")


def test_the_selected_choice_is_marked(client, owner, catalog):
    client.force_login(owner)

    response = client.get(f"/numbers/?trunk_id={catalog.main.pk}")

    section = facet_html(response, "trunk_id")
    assert re.search(r'class="selected" aria-current="true">Main <span class="count">2</span>', section)
    assert section.count('class="selected"') == 1
    assert 'class="">All</a>' in section
    # A filter without a value has "All" selected.
    assert 'class="selected">All</a>' in facet_html(response, "status")


# --- facet counts ----------------------------------------------------------------------------


def test_each_choice_shows_how_many_numbers_it_matches(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert facet(response, "status") == {"active": 3, "inactive": 2}
    assert facet(response, "voice_agent_id") == {"none": 2, str(catalog.sales.pk): 2, str(catalog.support.pk): 1}
    assert facet(response, "text_agent_id") == {"none": 3, str(catalog.chat.pk): 2}
    assert facet(response, "trunk_id") == {"none": 2, str(catalog.backup.pk): 1, str(catalog.main.pk): 2}
    assert facet(response, "provider") == {"manual": 3, "twilio": 2}


def test_the_page_shows_the_counts_next_to_the_choices(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/")

    status = facet_html(response, "status")
    assert re.search(r'>Active <span class="count">3</span>', status)
    assert re.search(r'>Inactive <span class="count">2</span>', status)
    voice = facet_html(response, "voice_agent_id")
    assert re.search(r'>Unassigned <span class="count">2</span>', voice)
    assert re.search(r'>Sales <span class="count">2</span>', voice)
    assert re.search(r'>Support <span class="count">1</span>', voice)
    trunk = facet_html(response, "trunk_id")
    assert re.search(r'>Backup <span class="count">1</span>', trunk)
    assert re.search(r'>Main <span class="count">2</span>', trunk)


def test_a_count_is_what_clicking_its_choice_would_show_given_the_other_filters(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/?status=active")

    # Its own filter is left out, so the other status is still offered with its count...
    assert facet(response, "status") == {"active": 3, "inactive": 2}
    # ...and every other filter counts only active numbers (n1, n3, n5).
    assert facet(response, "voice_agent_id") == {"none": 1, str(catalog.sales.pk): 1, str(catalog.support.pk): 1}
    assert facet(response, "text_agent_id") == {"none": 2, str(catalog.chat.pk): 1}
    assert facet(response, "trunk_id") == {"none": 2, str(catalog.backup.pk): 0, str(catalog.main.pk): 1}
    assert facet(response, "provider") == {"manual": 2, "twilio": 1}
    # Following each choice's link lists exactly as many numbers as it promised.
    for _title, each in response.context["facets"]:
        for choice in each["choices"]:
            followed = client.get(f"/numbers/?{choice['query']}&per_page=100")
            assert len(listed(followed)) == choice["count"], choice


def test_the_counts_follow_the_search_too(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/?search=44 20")

    assert listed(response) == ["+442071838750"]
    assert facet(response, "status") == {"active": 0, "inactive": 1}
    assert facet(response, "provider") == {"manual": 0, "twilio": 1}


def test_a_choice_link_keeps_the_other_filters_and_goes_back_to_page_one(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/?status=active&search=555&per_page=50&page=2")

    provider = next(f for _title, f in response.context["facets"] if f["param"] == "provider")
    links = {choice["value"]: choice["query"] for choice in provider["choices"]}
    assert links["twilio"] == "status=active&search=555&per_page=50&provider=twilio"
    assert 'href="?status=active&amp;search=555&amp;per_page=50&amp;provider=twilio"' in html(response)


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search, expected",
    [
        ("555", ["n1", "n2", "n3", "n5"]),
        ("(415) 555-0103", ["n3"]),
        ("+1 415.555.01", ["n1", "n2", "n3", "n5"]),
        ("+44 20 7183 8750", ["n4"]),
        ("  0105  ", ["n5"]),
        ("999", []),
    ],
)
def test_search_matches_digits_anywhere_ignoring_punctuation(client, owner, catalog, search, expected):
    client.force_login(owner)

    response = client.get("/numbers/", {"search": search})

    assert response.status_code == 200
    assert listed(response) == [getattr(catalog, name).number for name in expected]
    assert f'name="search" value="{search}"' in html(response)


def test_search_never_finds_another_accounts_number(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/?search=0199")

    assert response.status_code == 200
    assert listed(response) == []


def test_the_search_form_keeps_the_filters_in_hidden_fields(client, owner, catalog):
    client.force_login(owner)

    response = client.get(f"/numbers/?status=inactive&trunk_id={catalog.main.pk}&page=2")

    body = html(response)
    assert '<input type="hidden" name="status" value="inactive">' in body
    assert f'<input type="hidden" name="trunk_id" value="{catalog.main.pk}">' in body
    assert '<input type="hidden" name="page"' not in body


# --- invalid values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=bogus", "status"),
        ("provider=sip", "provider"),
        ("voice_agent_id=abc", "voice_agent_id"),
        ("text_agent_id=-1", "text_agent_id"),
        ("trunk_id=0", "trunk_id"),
        ("trunk_id=1.5", "trunk_id"),
    ],
)
def test_an_invalid_filter_is_reported_and_ignored(client, owner, catalog, query, field):
    client.force_login(owner)

    response = client.get(f"/numbers/?{query}")

    assert response.status_code == 200
    body = html(response)
    assert "Some filters were ignored" in body
    assert f"<code>{field}</code>" in body
    assert field in response.context["filterset"].errors
    assert len(listed(response)) == 5


@pytest.mark.parametrize(
    "search, why",
    [
        ("abc", "Search by digits; only +, spaces, dashes, dots and parentheses may surround them."),
        ("415 abc", "Search by digits; only +, spaces, dashes, dots and parentheses may surround them."),
        ("5" * 33, "Search with at most 32 characters."),
    ],
)
def test_a_search_that_is_not_digits_is_kept_and_says_why_it_matches_nothing(client, owner, catalog, search, why):
    """Not dropped (which would list every number as if it matched): nothing matches, the
    search box keeps it, the page says why, and the sidebar counts match the empty list."""
    client.force_login(owner)

    response = client.get("/numbers/", {"search": search, "status": "active"})

    assert response.status_code == 200
    assert listed(response) == []
    assert response.context["page"].paginator.count == 0
    body = html(response)
    assert f"Nothing matches the search “{search}”: {why}" in body
    assert f'value="{search}"' in body
    assert 'aria-invalid="true"' in body
    assert "Some filters were ignored" not in body
    assert set(facet(response, "status").values()) == {0}
    assert set(facet(response, "trunk_id").values()) == {0}
    # The other filters stay too.
    assert '<input type="hidden" name="status" value="active">' in body


def test_an_invalid_filter_does_not_drop_the_valid_ones(client, owner, catalog):
    client.force_login(owner)

    response = client.get("/numbers/?status=inactive&provider=sip")

    assert response.status_code == 200
    assert listed(response) == [catalog.n2.number, catalog.n4.number]
    assert list(response.context["filterset"].errors) == ["provider"]


@pytest.mark.parametrize(
    "query",
    [
        "voice_agent_id=99999999999999999999999999",
        "trunk_id=9223372036854775808",
        "text_agent_id=NONE",
        "page=abc",
        "page=0",
        "page=999999999999999999999999",
        "per_page=abc",
        "per_page=0",
        "per_page=-15",
        "per_page=100000",
        "status=",
        "search=",
    ],
)
def test_odd_values_never_break_the_page(client, owner, catalog, query):
    client.force_login(owner)

    response = client.get(f"/numbers/?{query}")

    assert response.status_code == 200
    assert "page" in response.context


# --- pagination and per page -----------------------------------------------------------------


@pytest.fixture
def many_numbers(account, make_number) -> list[PhoneNumber]:
    return [make_number(account, f"+1212555{i:04d}") for i in range(1, 102)]


def test_the_list_is_paginated_fifteen_to_a_page_by_default(client, owner, many_numbers):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert listed(response) == [n.number for n in many_numbers[:15]]
    body = html(response)
    assert "1–15 of 101" in body
    assert "Page 1 of 7" in body
    assert 'href="?page=2" rel="next"' in body


@pytest.mark.parametrize("per_page, pages", [(15, 7), (50, 3), (100, 2)])
def test_each_per_page_choice_is_kept_in_the_page_links(client, owner, many_numbers, per_page, pages):
    client.force_login(owner)

    response = client.get(f"/numbers/?status=active&per_page={per_page}&page=2")

    assert response.status_code == 200
    assert listed(response) == [n.number for n in many_numbers[per_page : 2 * per_page]]
    body = html(response)
    assert f"Page 2 of {pages}" in body
    assert f'<option value="{per_page}" selected>' in body
    assert f'href="?status=active&amp;per_page={per_page}&amp;page=1" rel="prev"' in body
    if pages > 2:
        assert f'href="?status=active&amp;per_page={per_page}&amp;page=3" rel="next"' in body
    # the bulk form returns to exactly this view
    assert f'name="next" value="/numbers/?status=active&amp;per_page={per_page}&amp;page=2"' in body


def test_per_page_is_capped_at_one_hundred(client, owner, many_numbers):
    client.force_login(owner)

    response = client.get("/numbers/?per_page=500")

    assert response.status_code == 200
    assert len(listed(response)) == 100


def test_a_page_past_the_end_shows_the_last_page(client, owner, many_numbers):
    client.force_login(owner)

    response = client.get("/numbers/?per_page=50&page=99")

    assert response.status_code == 200
    assert listed(response) == [many_numbers[-1].number]


# --- query count -----------------------------------------------------------------------------


# Session, user with their account, count (from the tally, or COUNT(*) with a search), rows,
# the facet counts (one query, however many filters), the voice agents, text agents and trunks
# in one query = 6. (The bulk form's dropdowns reuse the agents and trunks already loaded.)
LIST_QUERIES = 6


@pytest.mark.parametrize("rows", [1, 100])
def test_the_list_runs_the_same_number_of_queries_whatever_the_rows(
    client, owner, rows, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_num_queries
):
    fill_account(owner.account, rows, make_number, make_voice_agent, make_text_agent, make_trunk)
    client.force_login(owner)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/numbers/?per_page=100")

    assert response.status_code == 200
    assert len(listed(response)) == rows


def test_an_empty_filtered_list_runs_one_query_fewer(
    client, owner, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_num_queries
):
    fill_account(owner.account, 100, make_number, make_voice_agent, make_text_agent, make_trunk)
    client.force_login(owner)

    with django_assert_num_queries(LIST_QUERIES - 1):
        response = client.get("/numbers/?per_page=100&status=active&provider=manual&search=555&trunk_id=none")

    assert response.status_code == 200
    # Nothing matches, so the paginator skips the row query, but the facets still count.
    assert listed(response) == []


def test_a_filtered_page_of_rows_runs_the_same_number_of_queries(
    client, owner, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_num_queries
):
    fill_account(owner.account, 100, make_number, make_voice_agent, make_text_agent, make_trunk)
    client.force_login(owner)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/numbers/?per_page=100&status=active&provider=manual&search=555")

    assert response.status_code == 200
    assert len(listed(response)) == 100


def test_names_are_escaped_in_the_table_filters_and_dropdowns(client, owner, account, make_number, make_voice_agent):
    agent = make_voice_agent(account, '<script>alert("x")</script>')
    make_number(account, voice_agent=agent)
    client.force_login(owner)

    response = client.get("/numbers/", {"search": '"><script>alert(1)</script>'})

    assert response.status_code == 200
    body = html(response)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


# --- deep pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("page, start", [(1, 0), (3, 30), (4, 45), (6, 75), (7, 90)])
def test_every_page_holds_its_own_rows_in_order_read_from_either_end(client, owner, many_numbers, page, start):
    # Pages past the middle are read backwards from the last row (as the API reads them).
    client.force_login(owner)

    response = client.get(f"/numbers/?page={page}")

    assert response.status_code == 200
    assert listed(response) == [n.number for n in many_numbers[start : start + 15]]
    assert f"{start + 1}–{min(start + 15, 101)} of 101" in html(response)


def test_a_filtered_last_page_holds_the_last_matching_rows(client, owner, many_numbers):
    for number in many_numbers[::2]:
        PhoneNumber.objects.filter(pk=number.pk).update(status="inactive")
    client.force_login(owner)

    response = client.get("/numbers/?status=inactive&page=4")

    assert response.status_code == 200
    assert listed(response) == [n.number for n in many_numbers[::2][45:]]


def test_the_last_page_runs_the_same_number_of_queries_as_the_first(
    client, owner, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_num_queries
):
    fill_account(owner.account, 40, make_number, make_voice_agent, make_text_agent, make_trunk)
    client.force_login(owner)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/numbers/?page=3")

    assert response.status_code == 200
    assert len(listed(response)) == 10
