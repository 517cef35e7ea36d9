"""The Timeline section of /numbers/<id>/: the number's latest 10 events, newest first, and a
link to the rest on the Activity page when there are more."""

import re
from html import unescape

import pytest

from kalem_site.actors import Actor
from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import TEST_ACTOR, events_of
from tests.helpers import flashes, html

MORE_LINK = "All of this number's activity →"


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def timeline(response) -> list[list[str]]:
    """The Timeline's rows as the text of their cells, the When column left out."""
    section = re.search(r'<section class="card" id="timeline">(.*?)</section>', html(response), re.S).group(1)
    tbody = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)]
    return [[text(cell) for cell in row[1:] or row] for row in cells]


def more_link(number: PhoneNumber) -> str:
    return f'<a href="/activity/?number_id={number.pk}">'


def url(number: PhoneNumber) -> str:
    return f"/numbers/{number.pk}/"


@pytest.fixture
def number(account, make_voice_agent) -> PhoneNumber:
    return services.number_create(
        actor=TEST_ACTOR, account=account, number="+14155550123", voice_agent=make_voice_agent(account, "Sales")
    )


def flip(number: PhoneNumber, times: int) -> None:
    """`times` status changes: deactivated, activated, deactivated…"""
    for i in range(times):
        services.number_set_status(actor=TEST_ACTOR, number=number, active=i % 2 == 1)


def test_it_shows_the_numbers_events_newest_first(client, owner, account, number, make_trunk):
    services.number_update(
        actor=Actor.for_user(owner, "dashboard"), number=number, provider="twilio", trunk=make_trunk(account, "Edge")
    )
    services.number_set_status(actor=TEST_ACTOR, number=number, active=False)
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    rows = timeline(response)
    assert rows[0] == ["Deactivated Status: active → inactive", "tests", "Command"]
    # One update of two fields: two events, in the order they were written.
    assert sorted(rows[1:3]) == [
        ["Assigned SIP trunk: none → Edge", "alice", "Dashboard"],
        ["Provider changed Provider: manual → twilio", "alice", "Dashboard"],
    ]
    assert rows[3] == ["Created active, manual, voice agent Sales", "tests", "Command"]
    assert [event.pk for event in response.context["events"]] == list(
        NumberEvent.objects.filter(number_id=number.pk).order_by("-id").values_list("id", flat=True)
    )
    assert MORE_LINK not in html(response)


def test_it_shows_only_this_numbers_events(client, owner, account, number):
    other = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550124")
    services.number_set_status(actor=TEST_ACTOR, number=other, active=False)
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    assert timeline(response) == [["Created active, manual, voice agent Sales", "tests", "Command"]]
    assert "+14155550124" not in html(response)


def test_a_number_without_events_says_so(client, owner, account, make_number):
    baked = make_number(account)  # baked straight into the table: no events
    client.force_login(owner)

    response = client.get(url(baked))

    assert response.status_code == 200
    assert timeline(response) == [["No changes recorded yet."]]


@pytest.mark.parametrize("flips, shown, linked", [(8, 9, False), (9, 10, False), (10, 10, True), (30, 10, True)])
def test_it_shows_at_most_ten_and_links_to_the_rest_only_when_there_are_more(
    client, owner, number, flips, shown, linked
):
    flip(number, flips)
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    rows = timeline(response)
    assert len(rows) == shown
    newest = list(NumberEvent.objects.filter(number_id=number.pk).order_by("-id").values_list("id", flat=True))
    assert [event.pk for event in response.context["events"]][:shown] == newest[:shown]
    assert (rows[-1][0].startswith("Created")) == (not linked)
    body = html(response)
    assert (more_link(number) in body) == linked
    assert (MORE_LINK in body) == linked


def test_the_link_leads_to_all_of_the_numbers_activity(client, owner, number):
    flip(number, 12)
    client.force_login(owner)

    response = client.get("/activity/", {"number_id": number.pk, "per_page": 50})

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 13
    assert {event.number_id for event in response.context["page"].object_list} == {number.pk}


def test_a_teammate_sees_the_timeline(client, teammate, number):
    client.force_login(teammate)

    response = client.get(url(number))

    assert response.status_code == 200
    assert timeline(response) == [["Created active, manual, voice agent Sales", "tests", "Command"]]


def test_an_outsider_gets_404_and_no_timeline(client, outsider, number):
    client.force_login(outsider)

    response = client.get(url(number))

    assert response.status_code == 404
    assert "Sales" not in html(response)


def test_an_edit_through_the_form_records_each_changed_field_with_the_user_and_dashboard(
    client, owner, account, number, make_text_agent
):
    chat = make_text_agent(account, "Chat")
    client.force_login(owner)

    response = client.post(
        url(number),
        {
            "status": "inactive",
            "provider": "manual",  # unchanged
            "voice_agent": str(number.voice_agent_id),  # unchanged
            "text_agent": str(chat.pk),
            "trunk": "",  # unchanged
        },
    )

    assert response.status_code == 302
    assert flashes(response) == ["Number +14155550123 saved."]
    sales = {"id": number.voice_agent_id, "name": "Sales"}
    assert sorted(events_of(number.pk)[1:]) == [
        ("assigned", "text_agent", None, {"id": chat.pk, "name": "Chat"}, "user", "alice", "dashboard"),
        ("deactivated", "status", "active", "inactive", "user", "alice", "dashboard"),
    ]
    page = client.get(url(number))
    assert sorted(timeline(page)[:2]) == [
        ["Assigned Text agent: none → Chat", "alice", "Dashboard"],
        ["Deactivated Status: active → inactive", "alice", "Dashboard"],
    ]
    # Unassigning the voice agent is recorded with its name as it was.
    client.post(
        url(number), {"status": "inactive", "provider": "manual", "voice_agent": "", "text_agent": str(chat.pk)}
    )
    assert events_of(number.pk)[-1] == ("unassigned", "voice_agent", sales, None, "user", "alice", "dashboard")


def test_saving_the_form_unchanged_records_nothing(client, owner, number):
    client.force_login(owner)

    response = client.post(
        url(number),
        {"status": "active", "provider": "manual", "voice_agent": str(number.voice_agent_id), "text_agent": ""},
    )

    assert response.status_code == 302
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_a_refused_edit_records_nothing(client, owner, number):
    client.force_login(owner)

    response = client.post(url(number), {"status": "paused", "provider": "manual"})

    assert response.status_code == 200
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_the_pages_deactivate_button_is_recorded_and_shown(client, teammate, number):
    client.force_login(teammate)

    response = client.post(f"/numbers/{number.pk}/deactivate/", {"next": url(number)})
    page = client.get(url(number))

    assert response.status_code == 302
    assert response["Location"] == url(number)
    assert timeline(page)[0] == ["Deactivated Status: active → inactive", "bob", "Dashboard"]
    assert events_of(number.pk)[-1] == ("deactivated", "status", "active", "inactive", "user", "bob", "dashboard")


def test_events_made_through_the_api_name_the_token(client, owner, api, number):
    client.force_login(owner)

    changed = api.put(f"/api/v1/numbers/{number.pk}", {"provider": "twilio"}, format="json")
    response = client.get(url(number))

    assert changed.status_code == 200
    assert timeline(response)[0] == ["Provider changed Provider: manual → twilio", "Owner token (token)", "API"]


# Session, the user with their account, the number with its assignments, the timeline's
# events, and the form's three dropdowns.
TIMELINE_PAGE_QUERIES = 7


@pytest.mark.parametrize("flips", [1, 30])
def test_the_page_runs_the_same_number_of_queries_whatever_the_events(
    client, owner, number, flips, django_assert_num_queries
):
    flip(number, flips)
    client.force_login(owner)
    client.get(url(number))  # warm-up; the count below is what matters

    with django_assert_num_queries(TIMELINE_PAGE_QUERIES):
        response = client.get(url(number))

    assert response.status_code == 200
    assert len(timeline(response)) == min(flips + 1, 10)
