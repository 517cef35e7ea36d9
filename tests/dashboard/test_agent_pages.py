"""Voice agents (/voice-agents/) and text agents (/text-agents/): list with search and
numbers count, create, edit, delete with a confirmation that says how many numbers will be
unassigned. The same pages serve both kinds."""

from dataclasses import dataclass

import pytest
from django.test import Client

from agents_app.models import TextAgent, VoiceAgent
from tests.helpers import assert_login_redirect, field_errors, flashes, html


@dataclass
class Kind:
    prefix: str  # URL prefix
    model: type
    factory: str  # conftest fixture that makes one
    field: str  # the number's field
    param: str  # the numbers list filter
    title: str
    plural: str


VOICE = Kind(
    "/voice-agents/", VoiceAgent, "make_voice_agent", "voice_agent", "voice_agent_id", "Voice agent", "Voice agents"
)
TEXT = Kind("/text-agents/", TextAgent, "make_text_agent", "text_agent", "text_agent_id", "Text agent", "Text agents")


@pytest.fixture(params=[VOICE, TEXT], ids=["voice", "text"])
def kind(request) -> Kind:
    return request.param


@pytest.fixture
def make_agent(request, kind):
    return request.getfixturevalue(kind.factory)


def rows(response) -> list[str]:
    return [agent.name for agent in response.context["page"].object_list]


# --- list ------------------------------------------------------------------------------------


def test_the_list_shows_each_agent_with_its_numbers_count_and_a_link_to_them(
    client, owner, kind, account, make_agent, make_number
):
    busy = make_agent(account, "Sales", description="Answers the sales line")
    idle = make_agent(account, "Idle")
    for _ in range(3):
        make_number(account, **{kind.field: busy})
    client.force_login(owner)

    response = client.get(kind.prefix)

    assert response.status_code == 200
    assert rows(response) == ["Idle", "Sales"]
    body = html(response)
    assert f"<h1>{kind.plural}</h1>" in body
    assert "Answers the sales line" in body
    assert f'<a href="/numbers/?{kind.param}={busy.pk}">3</a>' in body
    assert f'<a href="/numbers/?{kind.param}={idle.pk}">0</a>' in body
    assert f'href="{kind.prefix}{busy.pk}/"' in body
    assert f'href="{kind.prefix}{busy.pk}/delete/"' in body


def test_the_numbers_link_lists_exactly_the_counted_numbers(client, owner, kind, account, make_agent, make_number):
    agent = make_agent(account)
    mine = [make_number(account, **{kind.field: agent}) for _ in range(2)]
    make_number(account)
    client.force_login(owner)

    response = client.get(f"/numbers/?{kind.param}={agent.pk}")

    assert response.status_code == 200
    assert [n["number"] for n in response.context["page"].object_list] == [n.number for n in mine]


def test_a_teammate_sees_the_same_agents(client, teammate, kind, account, make_agent):
    make_agent(account, "Sales")
    client.force_login(teammate)

    response = client.get(kind.prefix)

    assert response.status_code == 200
    assert rows(response) == ["Sales"]


def test_another_accounts_agents_are_not_listed(client, outsider, kind, account, make_agent):
    make_agent(account, "Sales")
    client.force_login(outsider)

    response = client.get(kind.prefix)

    assert response.status_code == 200
    assert rows(response) == []
    assert "Sales" not in html(response)


def test_search_finds_agents_by_part_of_the_name(client, owner, kind, account, other_account, make_agent):
    make_agent(account, "Sales EMEA")
    make_agent(account, "Support")
    make_agent(account, "Presales")
    make_agent(other_account, "Sales Globex")
    client.force_login(owner)

    response = client.get(kind.prefix, {"search": "sales"})

    assert response.status_code == 200
    assert rows(response) == ["Presales", "Sales EMEA"]
    assert 'name="search" value="sales"' in html(response)


def test_an_overlong_search_is_reported_not_a_500(client, owner, kind, account, make_agent):
    make_agent(account, "Sales")
    client.force_login(owner)

    response = client.get(kind.prefix, {"search": "x" * 101})

    assert response.status_code == 200
    assert "<code>search</code>" in html(response)
    assert rows(response) == ["Sales"]


# Session, the user with their account (named in the header), count, rows = 4.
AGENT_LIST_QUERIES = 4


@pytest.mark.parametrize("agents", [1, 60])
def test_the_list_runs_the_same_number_of_queries_whatever_the_rows(
    client, owner, kind, account, make_agent, make_number, agents, django_assert_num_queries
):
    for _ in range(agents):
        make_number(account, **{kind.field: make_agent(account)})
    client.force_login(owner)

    with django_assert_num_queries(AGENT_LIST_QUERIES):
        response = client.get(kind.prefix)

    assert response.status_code == 200
    assert len(rows(response)) == min(agents, 50)


# --- create ----------------------------------------------------------------------------------


def test_the_add_form_renders(client, owner, kind):
    client.force_login(owner)

    response = client.get(f"{kind.prefix}add/")

    assert response.status_code == 200
    body = html(response)
    assert f"Add {kind.title.lower()}" in body
    assert 'name="name"' in body and 'name="description"' in body


def test_creating_an_agent_goes_back_to_the_list_and_says_so(client, owner, kind, account):
    client.force_login(owner)

    response = client.post(f"{kind.prefix}add/", {"name": "  Sales  ", "description": "Sales line"})

    assert response.status_code == 302
    assert response["Location"] == kind.prefix
    assert flashes(response) == [f"{kind.title} Sales saved."]
    agent = kind.model.objects.get()
    assert (agent.account, agent.name, agent.description) == (account, "Sales", "Sales line")


def test_a_duplicate_name_is_an_error_next_to_the_name(client, owner, kind, account, make_agent):
    make_agent(account, "Sales")
    client.force_login(owner)

    response = client.post(f"{kind.prefix}add/", {"name": "Sales", "description": ""})

    assert response.status_code == 200
    assert field_errors(response, "name") == [f"A {kind.title.lower()} with this name already exists."]
    assert kind.model.objects.filter(account=account).count() == 1


def test_another_accounts_agent_of_the_same_name_is_no_duplicate(
    client, owner, kind, account, other_account, make_agent
):
    make_agent(other_account, "Sales")
    client.force_login(owner)

    response = client.post(f"{kind.prefix}add/", {"name": "Sales", "description": ""})

    assert response.status_code == 302
    assert kind.model.objects.filter(account=account, name="Sales").exists()


def test_a_blank_name_is_required(client, owner, kind):
    client.force_login(owner)

    response = client.post(f"{kind.prefix}add/", {"name": "", "description": "x"})

    assert response.status_code == 200
    assert field_errors(response, "name") == ["This field is required."]
    assert not kind.model.objects.exists()


# --- edit ------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_agent_and_links_to_its_numbers(client, owner, kind, account, make_agent):
    agent = make_agent(account, "Sales", description="Sales line")
    client.force_login(owner)

    response = client.get(f"{kind.prefix}{agent.pk}/")

    assert response.status_code == 200
    body = html(response)
    assert "Edit Sales" in body
    assert 'value="Sales"' in body
    assert f'href="/numbers/?{kind.param}={agent.pk}"' in body


def test_editing_changes_the_agent_and_says_so(client, teammate, kind, account, make_agent):
    agent = make_agent(account, "Sales")
    client.force_login(teammate)

    response = client.post(f"{kind.prefix}{agent.pk}/", {"name": "Sales EMEA", "description": "New"})

    assert response.status_code == 302
    assert response["Location"] == kind.prefix
    assert flashes(response) == [f"{kind.title} Sales EMEA saved."]
    agent.refresh_from_db()
    assert (agent.name, agent.description) == ("Sales EMEA", "New")


def test_renaming_to_another_agents_name_is_an_error(client, owner, kind, account, make_agent):
    make_agent(account, "Support")
    agent = make_agent(account, "Sales")
    client.force_login(owner)

    response = client.post(f"{kind.prefix}{agent.pk}/", {"name": "Support", "description": ""})

    assert response.status_code == 200
    assert field_errors(response, "name") == [f"A {kind.title.lower()} with this name already exists."]
    agent.refresh_from_db()
    assert agent.name == "Sales"


def test_keeping_the_same_name_is_no_duplicate(client, owner, kind, account, make_agent):
    agent = make_agent(account, "Sales")
    client.force_login(owner)

    response = client.post(f"{kind.prefix}{agent.pk}/", {"name": "Sales", "description": "Changed"})

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.description == "Changed"


# --- delete ----------------------------------------------------------------------------------


def test_the_delete_page_says_how_many_numbers_will_be_unassigned(
    client, owner, kind, account, make_agent, make_number
):
    agent = make_agent(account, "Sales")
    for _ in range(2):
        make_number(account, **{kind.field: agent})
    client.force_login(owner)

    response = client.get(f"{kind.prefix}{agent.pk}/delete/")

    assert response.status_code == 200
    body = html(response)
    assert f"Delete {kind.title.lower()} Sales?" in body
    assert "2 numbers will be unassigned from it." in body
    assert kind.model.objects.filter(pk=agent.pk).exists()


def test_deleting_keeps_the_numbers_unassigned_and_says_how_many(client, owner, kind, account, make_agent, make_number):
    agent = make_agent(account, "Sales")
    numbers = [make_number(account, **{kind.field: agent}) for _ in range(2)]
    client.force_login(owner)

    response = client.post(f"{kind.prefix}{agent.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == kind.prefix
    assert flashes(response) == [f"{kind.title} Sales deleted; 2 numbers unassigned."]
    assert not kind.model.objects.filter(pk=agent.pk).exists()
    for number in numbers:
        number.refresh_from_db()
        assert getattr(number, f"{kind.field}_id") is None


def test_deleting_an_agent_of_one_number_says_one_number(client, owner, kind, account, make_agent, make_number):
    agent = make_agent(account, "Sales")
    make_number(account, **{kind.field: agent})
    client.force_login(owner)

    confirm = client.get(f"{kind.prefix}{agent.pk}/delete/")
    response = client.post(f"{kind.prefix}{agent.pk}/delete/")

    assert "1 number will be unassigned from it." in html(confirm)
    assert response.status_code == 302
    assert flashes(response) == [f"{kind.title} Sales deleted; 1 number unassigned."]


# --- other accounts, anonymous, CSRF ---------------------------------------------------------


def test_the_outsider_gets_404_on_the_edit_and_delete_pages_and_changes_nothing(
    client, outsider, kind, account, make_agent, make_number
):
    agent = make_agent(account, "Sales")
    number = make_number(account, **{kind.field: agent})
    client.force_login(outsider)

    responses = [
        client.get(f"{kind.prefix}{agent.pk}/"),
        client.post(f"{kind.prefix}{agent.pk}/", {"name": "Hijacked", "description": ""}),
        client.get(f"{kind.prefix}{agent.pk}/delete/"),
        client.post(f"{kind.prefix}{agent.pk}/delete/"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert all("Sales" not in html(r) for r in responses)
    agent.refresh_from_db()
    assert agent.name == "Sales"
    number.refresh_from_db()
    assert getattr(number, f"{kind.field}_id") == agent.pk


def test_the_other_kinds_id_is_404(client, owner, kind, account, make_voice_agent, make_text_agent):
    other_kind = make_text_agent(account) if kind is VOICE else make_voice_agent(account)
    # Make sure the id is not also taken by an agent of this kind.
    kind.model.objects.filter(pk=other_kind.pk).delete()
    client.force_login(owner)

    assert client.get(f"{kind.prefix}{other_kind.pk}/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, kind, account, make_agent):
    agent = make_agent(account, "Sales")

    for path in (kind.prefix, f"{kind.prefix}add/", f"{kind.prefix}{agent.pk}/", f"{kind.prefix}{agent.pk}/delete/"):
        assert_login_redirect(client.get(path), path)
    assert_login_redirect(client.post(f"{kind.prefix}{agent.pk}/delete/"), f"{kind.prefix}{agent.pk}/delete/")
    assert kind.model.objects.filter(pk=agent.pk).exists()


def test_posts_without_the_csrf_token_are_refused(owner, kind, account, make_agent):
    agent = make_agent(account, "Sales")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    create = csrf_client.post(f"{kind.prefix}add/", {"name": "New", "description": ""})
    edit = csrf_client.post(f"{kind.prefix}{agent.pk}/", {"name": "Renamed", "description": ""})
    delete = csrf_client.post(f"{kind.prefix}{agent.pk}/delete/")

    assert (create.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    assert list(kind.model.objects.values_list("name", flat=True)) == ["Sales"]
