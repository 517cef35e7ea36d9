"""Small things an operator notices (issue 15, part 6): facets that stay short with many
agents and trunks, natural order in facets and selects, thousands separators, a favicon, a
link to the API docs, the Copy button hidden until JavaScript can make it work."""

import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings

from numbers_app.models import PhoneNumber
from numbers_app.views.listing import FACET_SHORT_LENGTH
from tests.helpers import html

LIST = "/numbers/"


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def facet_section(body: str, param: str) -> str:
    match = re.search(rf'<section class="facet" data-param="{param}">(.*?)</section>', body, re.S)
    assert match, param
    return match.group(1)


def facet_labels(body: str, param: str) -> list[str]:
    """The choices of a facet as shown, without "All" and the counts."""
    links = re.findall(r"<li><a [^>]*>(.*?)</a></li>", facet_section(body, param), re.S)
    return [re.sub(r"\s*[\d,]+$", "", text(link)) for link in links][1:]


def select_labels(body: str, name: str) -> list[str]:
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert match, name
    return [text(option) for option in re.findall(r"<option[^>]*>(.*?)</option>", match.group(1), re.S)]


@pytest.fixture
def numbered_agents(account, make_voice_agent, make_number):
    """Voice agents whose names sort wrong as text: Agent 1, agent 2, Agent 10, Agent 2b."""
    agents = {name: make_voice_agent(account, name) for name in ["Agent 10", "agent 2", "Agent 2b", "Agent 1"]}
    number = make_number(account, voice_agent=agents["Agent 10"])
    return agents, number


# Natural order


def test_the_facets_list_agents_in_natural_order(client, owner, numbered_agents):
    client.force_login(owner)

    body = html(client.get(LIST))

    assert facet_labels(body, "voice_agent_id") == ["Unassigned", "Agent 1", "agent 2", "Agent 2b", "Agent 10"]


def test_the_bulk_select_lists_agents_in_natural_order(client, owner, numbered_agents):
    client.force_login(owner)

    body = html(client.get(LIST))

    assert select_labels(body, "voice_agent") == ["— none —", "Agent 1", "agent 2", "Agent 2b", "Agent 10"]


@pytest.mark.parametrize("page", ["detail", "add"])
def test_the_number_forms_list_agents_and_trunks_in_natural_order(
    client, owner, account, numbered_agents, make_trunk, page
):
    for name in ["Trunk 12", "Trunk 3", "Trunk 1"]:
        make_trunk(account, name)
    _, number = numbered_agents
    client.force_login(owner)

    body = html(client.get(f"/numbers/{number.pk}/" if page == "detail" else "/numbers/add/"))

    assert select_labels(body, "voice_agent") == ["— none —", "Agent 1", "agent 2", "Agent 2b", "Agent 10"]
    assert select_labels(body, "trunk") == ["— none —", "Trunk 1", "Trunk 3", "Trunk 12"]


# Short facets


@pytest.fixture
def many_trunks(account, make_trunk, make_number):
    """12 trunks, Trunk 1 … Trunk 12; Trunk n carries n numbers, and 2 numbers have none."""
    trunks = [make_trunk(account, f"Trunk {n}") for n in range(1, 13)]
    for trunk in trunks:
        for _ in range(int(trunk.name.split()[1])):
            make_number(account, trunk=trunk)
    make_number(account)
    make_number(account)
    return trunks


def test_a_facet_with_many_choices_shows_the_busiest_and_a_link_to_all(client, owner, many_trunks):
    client.force_login(owner)

    body = html(client.get(LIST))

    busiest = [f"Trunk {n}" for n in range(13 - FACET_SHORT_LENGTH, 13)]
    assert facet_labels(body, "trunk_id") == ["Unassigned", *busiest]
    more = re.search(r'<a class="facet-more" href="\?([^"]*)">(.*?)</a>', facet_section(body, "trunk_id"), re.S)
    assert text(more.group(2)) == "Show all 12 SIP trunks"
    assert unescape(more.group(1)) == "show_all=trunk_id"
    # Short facets are left alone.
    assert "facet-more" not in facet_section(body, "status")


def test_show_all_lists_every_choice_keeping_the_filters_and_show_fewer_goes_back(client, owner, many_trunks):
    client.force_login(owner)

    body = html(client.get(LIST, {"status": "active", "show_all": "trunk_id", "page": "2"}))

    assert facet_labels(body, "trunk_id") == ["Unassigned", *(f"Trunk {n}" for n in range(1, 13))]
    fewer = re.search(r'<a class="facet-more" href="\?([^"]*)">(.*?)</a>', facet_section(body, "trunk_id"), re.S)
    assert text(fewer.group(2)) == "Show fewer SIP trunks"
    assert unescape(fewer.group(1)) == "status=active&page=2"
    # The facet's own links keep it open.
    assert "show_all=trunk_id" in facet_section(body, "status")


def test_the_selected_choice_stays_in_a_short_facet(client, owner, many_trunks):
    quiet = many_trunks[0]  # Trunk 1: one number, not among the busiest
    client.force_login(owner)

    body = html(client.get(LIST, {"trunk_id": quiet.pk}))

    labels = facet_labels(body, "trunk_id")
    assert "Trunk 1" in labels
    assert len(labels) == 1 + FACET_SHORT_LENGTH + 1
    assert labels == ["Unassigned", "Trunk 1", *(f"Trunk {n}" for n in range(13 - FACET_SHORT_LENGTH, 13))]


def test_show_all_is_not_a_filter(client, owner, many_trunks):
    client.force_login(owner)

    response = client.get(LIST, {"show_all": "trunk_id", "per_page": 100})

    assert response.context["page"].paginator.count == PhoneNumber.objects.count()
    assert "Clear all filters" not in html(response)


# Thousands separators


def test_counts_have_thousands_separators(client, owner, account):
    PhoneNumber.objects.bulk_create(PhoneNumber(account=account, number=f"+1415{i:07d}") for i in range(1234))
    client.force_login(owner)

    body = text(html(client.get(LIST)))

    assert "Active 1,234" in body
    assert "1–15 of 1,234" in body
    assert "Page 1 of 83" in body
    assert "1,234" in text(html(client.get("/")))


def test_bulk_messages_have_thousands_separators(rf):
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.cookie import CookieStorage

    from kalem_site.web import flash_count

    request = rf.post("/numbers/bulk/")
    request._messages = CookieStorage(request)

    flash_count(request, 30000, "assigned to voice agent Sales")
    flash_count(request, 1, "deleted")

    assert [str(m) for m in get_messages(request)] == [
        "30,000 numbers assigned to voice agent Sales.",
        "1 number deleted.",
    ]


# The top bar and the page head


def test_every_page_names_the_favicon_and_browsers_asking_for_favicon_ico_get_it(client, owner):
    client.force_login(owner)

    body = html(client.get(LIST))
    response = client.get("/favicon.ico")

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    icon = Path(settings.BASE_DIR, "static", "favicon.svg").read_text()
    assert icon.startswith("<svg") and 'viewBox="0 0 32 32"' in icon


def test_the_top_bar_links_to_the_api_docs(client, owner):
    client.force_login(owner)

    body = html(client.get(LIST))

    assert '<a href="/api/docs">API docs</a>' in body
    assert client.get("/api/docs").status_code == 200


def test_the_copy_button_is_hidden_until_javascript_shows_it(client, owner):
    client.force_login(owner)

    response = client.post("/settings/tokens/", {"name": "CI", "submission": "x"}, follow=True)

    body = html(response)
    assert '<button type="button" data-copy="#new-token" hidden>Copy</button>' in body
    # The stylesheet styles buttons inline-block, which would beat the browser's own
    # [hidden] rule; the stylesheet's [hidden] rule wins back (the browser test sees it).
    css = Path(settings.BASE_DIR, "static", "css", "app.css").read_text()
    assert "[hidden] { display: none !important; }" in css
