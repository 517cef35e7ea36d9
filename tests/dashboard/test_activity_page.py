"""/activity/: every change to the account's numbers, newest first, with the API's filters
(invalid ones shown and ignored), paginated; deleted numbers shown but not linked."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape

import pytest

from kalem_site.actors import Actor
from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import TEST_ACTOR, events_of
from tests.helpers import assert_login_redirect, html

URL = "/activity/"


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def rows(response) -> list[list[str]]:
    """The table's rows as the text of their cells, the When column left out (it is the
    moment the test ran)."""
    tbody = re.search(r"<tbody>(.*?)</tbody>", html(response), re.S).group(1)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)]
    return [[text(cell) for cell in row[1:] or row] for row in cells]


def shown(response) -> list[int]:
    return [event.pk for event in response.context["page"].object_list]


def form_errors(response) -> str:
    match = re.search(r'<div class="form-errors"[^>]*>(.*?)</div>', html(response), re.S)
    return text(match.group(1)) if match else ""


@dataclass
class Activity:
    first: PhoneNumber  # +14155550123: created through the API, on the Sales agent
    second: PhoneNumber  # +14155550124: created in the dashboard, then deactivated by a command


@pytest.fixture
def activity(api, account, owner, make_voice_agent) -> Activity:
    sales = make_voice_agent(account, "Sales")
    response = api.post("/api/v1/numbers", {"number": "+14155550123", "voice_agent_id": sales.pk}, format="json")
    assert response.status_code == 201
    second = services.number_create(actor=Actor.for_user(owner, "dashboard"), account=account, number="+14155550124")
    services.number_set_status(actor=TEST_ACTOR, number=second, active=False)
    return Activity(first=PhoneNumber.objects.get(pk=response.json()["id"]), second=second)


# Newest first: number, change, who, through.
SECOND_DEACTIVATED = ["+14155550124", "Deactivated Status: active → inactive", "tests", "Command"]
SECOND_CREATED = ["+14155550124", "Created active, manual", "alice", "Dashboard"]
FIRST_CREATED = ["+14155550123", "Created active, manual, voice agent Sales", "Owner token (token)", "API"]


# --- who sees what ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, activity):
    assert_login_redirect(client.get(URL), URL)


def test_the_owner_sees_the_accounts_events_newest_first(client, owner, activity):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    assert rows(response) == [SECOND_DEACTIVATED, SECOND_CREATED, FIRST_CREATED]
    assert shown(response) == list(NumberEvent.objects.order_by("-id").values_list("id", flat=True))
    body = html(response)
    assert f'<a href="/numbers/{activity.first.pk}/">+14155550123</a>' in body
    assert f'<a href="/numbers/{activity.second.pk}/">+14155550124</a>' in body
    assert '<a href="/activity/" aria-current="page">Activity</a>' in body


def test_each_row_says_when_in_utc(client, owner, activity):
    NumberEvent.objects.filter(number_id=activity.first.pk).update(
        occurred_at=datetime(2025, 1, 15, 10, 30, 5, tzinfo=UTC)
    )
    client.force_login(owner)

    response = client.get(URL, {"number_id": activity.first.pk})

    assert response.status_code == 200
    assert '<time datetime="2025-01-15T10:30:05+00:00">2025-01-15 10:30:05</time>' in html(response)


def test_a_teammate_sees_the_same_events(client, teammate, activity):
    client.force_login(teammate)

    response = client.get(URL)

    assert response.status_code == 200
    assert rows(response) == [SECOND_DEACTIVATED, SECOND_CREATED, FIRST_CREATED]


def test_an_outsider_sees_none_of_them(client, outsider, activity, outsider_api):
    theirs = outsider_api.post("/api/v1/numbers", {"number": "+14155550199"}, format="json").json()["id"]
    client.force_login(outsider)

    response = client.get(URL)
    by_id = client.get(URL, {"number_id": activity.first.pk})
    by_number = client.get(URL, {"number": "+14155550123"})

    assert response.status_code == by_id.status_code == by_number.status_code == 200
    assert rows(response) == [["+14155550199", "Created active, manual", "Outsider token (token)", "API"]]
    assert rows(by_id) == rows(by_number) == [["No activity matches."]]
    for page in (response, by_id, by_number):
        assert "+14155550123" not in html(page).replace('value="+14155550123"', "")
        assert "+14155550124" not in html(page)
    assert f'href="/numbers/{theirs}/"' in html(response)


def test_a_user_of_no_account_is_refused(client, django_user_model, activity):
    client.force_login(django_user_model.objects.create_user(username="drifter", password="x"))

    response = client.get(URL)

    assert response.status_code == 403


def test_staff_of_no_account_are_sent_to_the_admin(client, django_user_model, activity):
    client.force_login(django_user_model.objects.create_user(username="staffer", password="x", is_staff=True))

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"number": "+1 (415) 555-0124"}, [SECOND_DEACTIVATED, SECOND_CREATED]),
        ({"number": "0014155550123"}, [FIRST_CREATED]),
        ({"action": "created"}, [SECOND_CREATED, FIRST_CREATED]),
        ({"action": "deactivated"}, [SECOND_DEACTIVATED]),
        ({"channel": "dashboard"}, [SECOND_CREATED]),
        ({"channel": "api"}, [FIRST_CREATED]),
        ({"channel": "admin"}, [["No activity matches."]]),
        ({"action": "created", "channel": "dashboard"}, [SECOND_CREATED]),
    ],
)
def test_filters_narrow_the_rows(client, owner, activity, params, expected):
    client.force_login(owner)

    response = client.get(URL, params)

    assert response.status_code == 200
    assert rows(response) == expected
    assert form_errors(response) == ""


def test_number_id_narrows_to_one_number_and_is_kept_in_the_form(client, owner, activity):
    client.force_login(owner)

    response = client.get(URL, {"number_id": activity.second.pk})

    assert response.status_code == 200
    assert rows(response) == [SECOND_DEACTIVATED, SECOND_CREATED]
    assert f'<input type="hidden" name="number_id" value="{activity.second.pk}">' in html(response)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"since": "2025-01-15T11:00"}, [SECOND_DEACTIVATED, SECOND_CREATED]),
        ({"until": "2025-01-15T11:00"}, [SECOND_CREATED, FIRST_CREATED]),
        ({"since": "2025-01-15T11:00", "until": "2025-01-15T11:00:00"}, [SECOND_CREATED]),
    ],
)
def test_since_and_until_are_inclusive_and_in_utc(client, owner, activity, params, expected):
    hours = {activity.first.pk: [10], activity.second.pk: [11, 12]}
    for number_id, at in hours.items():
        for event, hour in zip(NumberEvent.objects.filter(number_id=number_id).order_by("id"), at, strict=True):
            NumberEvent.objects.filter(pk=event.pk).update(occurred_at=datetime(2025, 1, 15, hour, tzinfo=UTC))
    client.force_login(owner)

    response = client.get(URL, params)

    assert response.status_code == 200
    assert rows(response) == expected


def test_the_form_shows_the_filters_it_applied(client, owner, activity):
    client.force_login(owner)

    response = client.get(URL, {"number": "+1 415 555 0124", "action": "deactivated", "channel": "command"})

    assert response.status_code == 200
    body = html(response)
    assert 'name="number" value="+1 415 555 0124"' in body
    assert '<option value="deactivated" selected>' in body
    assert '<option value="command" selected>' in body
    assert '<a href="/activity/">Clear</a>' in body


def test_an_invalid_filter_is_shown_and_ignored_and_the_valid_ones_still_apply(client, owner, activity):
    client.force_login(owner)

    response = client.get(URL, {"number": "abc", "since": "yesterday", "action": "bogus", "channel": "dashboard"})

    assert response.status_code == 200
    errors = form_errors(response)
    assert errors.startswith("Some filters were ignored:")
    assert "number : Enter a phone number in E.164 format" in errors  # <code>number</code>: …
    assert "since :" in errors and "action :" in errors
    assert "channel" not in errors
    assert rows(response) == [SECOND_CREATED]


def test_an_invalid_number_id_is_shown_and_everything_listed(client, owner, activity):
    client.force_login(owner)

    response = client.get(URL, {"number_id": "0"})

    assert response.status_code == 200
    assert "number_id : Enter a positive integer id." in form_errors(response)
    assert rows(response) == [SECOND_DEACTIVATED, SECOND_CREATED, FIRST_CREATED]


def test_names_are_escaped(client, owner, account, make_voice_agent):
    services.number_create(
        actor=TEST_ACTOR,
        account=account,
        number="+14155550123",
        voice_agent=make_voice_agent(account, "<script>alert(1)</script>"),
    )
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html(response)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(response)


# --- deleted numbers ------------------------------------------------------------------------


def test_a_deleted_numbers_rows_say_deleted_and_are_not_linked(client, owner, activity):
    services.number_delete(actor=TEST_ACTOR, number=activity.first)
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    assert rows(response) == [
        ["+14155550123 (deleted)", "Deleted active, manual, voice agent Sales", "tests", "Command"],
        SECOND_DEACTIVATED,
        SECOND_CREATED,
        ["+14155550123 (deleted)", *FIRST_CREATED[1:]],
    ]
    body = html(response)
    assert f'href="/numbers/{activity.first.pk}/"' not in body
    assert body.count(f'<a href="/numbers/{activity.second.pk}/">+14155550124</a>') == 2


# --- pagination -------------------------------------------------------------------------------


@pytest.fixture
def twenty(account) -> list[int]:
    """Twenty events (a number created, then its status flipped 19 times); ids newest first."""
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123")
    for i in range(19):
        services.number_set_status(actor=TEST_ACTOR, number=number, active=i % 2 == 1)
    return list(NumberEvent.objects.order_by("-id").values_list("id", flat=True))


def test_it_pages_fifteen_rows_at_a_time(client, owner, twenty):
    client.force_login(owner)

    first = client.get(URL)
    second = client.get(URL, {"page": 2})

    assert first.status_code == second.status_code == 200
    assert shown(first) == twenty[:15]
    assert shown(second) == twenty[15:]
    assert "1–15 of 20" in html(first)
    assert '<a href="?page=2" rel="next">Next ›</a>' in html(first)
    assert "16–20 of 20" in html(second)


def test_per_page_and_the_filters_are_kept_across_pages(client, owner, twenty):
    client.force_login(owner)

    response = client.get(URL, {"per_page": 3, "action": "deactivated", "page": 2})

    assert response.status_code == 200
    deactivated = list(NumberEvent.objects.filter(action="deactivated").order_by("-id").values_list("id", flat=True))
    assert len(deactivated) == 10
    assert shown(response) == deactivated[3:6]
    assert '<a href="?per_page=3&amp;action=deactivated&amp;page=3" rel="next">Next ›</a>' in html(response)


@pytest.mark.parametrize("page, last", [("abc", False), ("", False), ("0", True), ("99", True)])
def test_a_page_out_of_range_shows_a_page_that_exists(client, owner, twenty, page, last):
    client.force_login(owner)

    response = client.get(URL, {"page": page})

    assert response.status_code == 200
    assert shown(response) == (twenty[15:] if last else twenty[:15])


def test_a_page_past_the_middle_holds_its_own_events_read_from_the_end(client, owner, twenty):
    client.force_login(owner)

    response = client.get(URL, {"per_page": 3, "page": 6})

    assert response.status_code == 200
    assert shown(response) == twenty[15:18]


# --- changes made in the dashboard ------------------------------------------------------------


@pytest.fixture
def number(account, make_voice_agent) -> PhoneNumber:
    return services.number_create(
        actor=TEST_ACTOR, account=account, number="+14155550123", voice_agent=make_voice_agent(account, "Sales")
    )


def test_a_deactivation_in_the_dashboard_shows_the_user_and_dashboard(client, owner, number):
    client.force_login(owner)

    changed = client.post(f"/numbers/{number.pk}/deactivate/")
    response = client.get(URL)

    assert changed.status_code == 302
    assert response.status_code == 200
    assert rows(response)[0] == ["+14155550123", "Deactivated Status: active → inactive", "alice", "Dashboard"]
    assert events_of(number.pk)[-1] == ("deactivated", "status", "active", "inactive", "user", "alice", "dashboard")


def test_a_teammates_change_is_named_after_the_teammate(client, teammate, number):
    client.force_login(teammate)

    changed = client.post(f"/numbers/{number.pk}/deactivate/")
    again = client.post(f"/numbers/{number.pk}/deactivate/")  # already inactive: nothing to record
    response = client.get(URL)

    assert changed.status_code == again.status_code == 302
    assert rows(response)[0] == ["+14155550123", "Deactivated Status: active → inactive", "bob", "Dashboard"]
    assert [row[0] for row in events_of(number.pk)] == ["created", "deactivated"]


def test_adding_and_deleting_a_number_in_the_dashboard_are_recorded(client, owner):
    client.force_login(owner)

    added = client.post(
        "/numbers/add/",
        {"number": "+14155550125", "provider": "twilio", "voice_agent": "", "text_agent": "", "trunk": ""},
    )
    pk = PhoneNumber.objects.get(number="+14155550125").pk
    deleted = client.post(f"/numbers/{pk}/delete/")
    response = client.get(URL)

    assert added.status_code == deleted.status_code == 302
    assert rows(response) == [
        ["+14155550125 (deleted)", "Deleted active, twilio", "alice", "Dashboard"],
        ["+14155550125 (deleted)", "Created active, twilio", "alice", "Dashboard"],
    ]
    state = {"status": "active", "provider": "twilio", "voice_agent": None, "text_agent": None, "trunk": None}
    assert events_of(pk) == [
        ("created", "", None, state, "user", "alice", "dashboard"),
        ("deleted", "", state, None, "user", "alice", "dashboard"),
    ]


def test_a_bulk_action_in_the_dashboard_records_each_changed_number(client, owner, account, number):
    other = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550124")
    services.number_set_status(actor=TEST_ACTOR, number=other, active=False)
    client.force_login(owner)

    changed = client.post("/numbers/bulk/", {"action": "deactivate", "ids": [number.pk, other.pk]})
    response = client.get(URL, {"channel": "dashboard"})

    assert changed.status_code == 302
    assert rows(response) == [["+14155550123", "Deactivated Status: active → inactive", "alice", "Dashboard"]]
    assert [row[0] for row in events_of(other.pk)] == ["created", "deactivated"]


def test_renaming_and_deleting_an_agent_in_the_dashboard_are_recorded_on_its_numbers(client, owner, number):
    agent = number.voice_agent
    client.force_login(owner)

    renamed = client.post(f"/voice-agents/{agent.pk}/", {"name": "Support", "description": ""})
    deleted = client.post(f"/voice-agents/{agent.pk}/delete/")
    response = client.get(URL, {"channel": "dashboard"})

    assert renamed.status_code == deleted.status_code == 302
    assert rows(response) == [
        ["+14155550123", "Unassigned Voice agent: Support → none", "alice", "Dashboard"],
        ["+14155550123", "Renamed Voice agent: Sales → Support", "alice", "Dashboard"],
    ]
    assert events_of(number.pk)[1:] == [
        (
            "renamed",
            "voice_agent",
            {"id": agent.pk, "name": "Sales"},
            {"id": agent.pk, "name": "Support"},
            "user",
            "alice",
            "dashboard",
        ),
        ("unassigned", "voice_agent", {"id": agent.pk, "name": "Support"}, None, "user", "alice", "dashboard"),
    ]


def test_deleting_a_trunk_in_the_dashboard_records_unassigned_on_its_numbers(client, owner, account, make_trunk):
    edge = make_trunk(account, "Edge")
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123", trunk=edge)
    client.force_login(owner)

    deleted = client.post(f"/trunks/{edge.pk}/delete/")
    response = client.get(URL, {"action": "unassigned"})

    assert deleted.status_code == 302
    assert rows(response) == [["+14155550123", "Unassigned SIP trunk: Edge → none", "alice", "Dashboard"]]
    assert events_of(number.pk)[-1] == (
        "unassigned",
        "trunk",
        {"id": edge.pk, "name": "Edge"},
        None,
        "user",
        "alice",
        "dashboard",
    )


# --- query count ------------------------------------------------------------------------------

# Session, the user with their account (the top bar names it), count, the page of events,
# and which of their numbers still exist.
ACTIVITY_QUERIES = 5


@pytest.mark.parametrize("count", [5, 40])
def test_the_page_runs_the_same_number_of_queries_whatever_the_events(
    client, owner, account, count, django_assert_num_queries
):
    # Events of numbers that still exist and of numbers that are gone, on the page together.
    for i in range(count):
        number = services.number_create(actor=TEST_ACTOR, account=account, number=f"+1415555{i:04d}")
        if i % 2:
            services.number_delete(actor=TEST_ACTOR, number=number)
    client.force_login(owner)

    with django_assert_num_queries(ACTIVITY_QUERIES):
        response = client.get(URL, {"per_page": 100})

    assert response.status_code == 200
    assert len(shown(response)) == count + count // 2
