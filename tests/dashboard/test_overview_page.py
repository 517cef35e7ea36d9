"""/ : the overview. Numbers by status, the active numbers that are not routable and why,
each count linking to the list that shows exactly those numbers; the chart of changes per
day; the latest changes. Only the account's own, in a fixed number of queries."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from numbers_app.selectors import NO_AGENT_REASON, NO_TRUNK_REASON
from numbers_app.views.overview import CHART_HEIGHT, chart_bars
from tests.audit import TEST_ACTOR
from tests.helpers import assert_login_redirect, html

URL = "/"


@pytest.fixture
def fleet(account, other_account, make_number, make_voice_agent, make_trunk):
    """9 numbers: 3 routable, 2 active without an agent (one of them manual without a trunk),
    2 more manual without a trunk, 2 inactive; and 4 of another account, none routable."""
    agent, trunk = make_voice_agent(account, "Reception"), make_trunk(account, "Edge")
    make_number(account, "+14155550001", voice_agent=agent, trunk=trunk)
    make_number(account, "+14155550002", voice_agent=agent, provider="twilio")
    make_number(account, "+14155550003", voice_agent=agent, trunk=trunk)
    make_number(account, "+14155550004", provider="twilio")  # no agent
    make_number(account, "+14155550005")  # no agent, manual without a trunk
    make_number(account, "+14155550006", voice_agent=agent)  # manual without a trunk
    make_number(account, "+14155550007", voice_agent=agent)  # manual without a trunk
    make_number(account, "+14155550008", status="inactive")
    make_number(account, "+14155550009", status="inactive", voice_agent=agent, trunk=trunk)
    for i in range(4):
        make_number(other_account, f"+44207946{i:04d}")


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def link(body: str, attribute: str) -> tuple[str, str]:
    """The href and text of the link marked with `attribute` (e.g. data-count="active")."""
    match = re.search(rf'<a href="([^"]*)"[^>]*{attribute}[^>]*>(.*?)</a>', body, re.S)
    assert match, attribute
    return unescape(match.group(1)), text(match.group(2))


def listed(client, href: str) -> set[str]:
    """The numbers the list shows at this link (all on one page)."""
    parts = urlsplit(href)
    assert parts.path == "/numbers/"
    response = client.get(parts.path, {**dict(parse_qsl(parts.query)), "per_page": 100})
    assert response.status_code == 200
    assert not response.context["filterset"].errors, response.context["filterset"].errors
    return {number["number"] for number in response.context["page"].object_list}


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert_login_redirect(client.get(URL), URL)


def test_it_shows_the_numbers_by_status(client, owner, fleet):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert link(body, 'data-count="total"') == ("/numbers/", "9")
    assert link(body, 'data-count="active"') == ("/numbers/?status=active", "7 active")
    assert link(body, 'data-count="inactive"') == ("/numbers/?status=inactive", "2 inactive")


def test_each_reason_counts_the_numbers_of_the_list_it_links_to(client, owner, fleet):
    client.force_login(owner)

    body = html(client.get(URL))

    assert "4 of 7 active numbers cannot be routed" in text(body)
    no_agent_url, no_agent = link(body, 'data-reason="1"')
    no_trunk_url, no_trunk = link(body, 'data-reason="2"')
    assert no_agent == f"2 {NO_AGENT_REASON}"
    assert no_trunk == f"3 {NO_TRUNK_REASON}"
    assert listed(client, no_agent_url) == {"+14155550004", "+14155550005"}
    assert listed(client, no_trunk_url) == {"+14155550005", "+14155550006", "+14155550007"}


def test_the_not_routable_total_links_to_the_lists_routable_filter(client, owner, fleet):
    client.force_login(owner)

    body = html(client.get(URL))

    url, count = link(body, 'data-count="not-routable"')
    assert count == "4"
    assert dict(parse_qsl(urlsplit(url).query)) == {"status": "active", "routable": "false"}
    assert listed(client, url) == {"+14155550004", "+14155550005", "+14155550006", "+14155550007"}


def test_the_status_links_list_their_numbers(client, owner, fleet):
    client.force_login(owner)

    body = html(client.get(URL))

    assert listed(client, link(body, 'data-count="inactive"')[0]) == {"+14155550008", "+14155550009"}
    assert len(listed(client, link(body, 'data-count="active"')[0])) == 7


def test_every_active_number_routable_says_so(client, owner, account, make_number, make_voice_agent):
    agent = make_voice_agent(account)
    make_number(account, provider="twilio", voice_agent=agent)
    make_number(account, status="inactive")  # inactive numbers are not the question
    client.force_login(owner)

    body = html(client.get(URL))

    assert "All 1 active number can be routed." in text(body)
    assert "data-reason" not in body


def test_an_empty_account_gets_a_calm_page(client, owner):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    body = text(html(response))
    assert "No active numbers yet." in body
    assert "No changes in the last 30 days." in body
    assert "No changes yet." in body


def test_the_outsider_sees_only_their_own_account(client, outsider, fleet):
    client.force_login(outsider)

    body = html(client.get(URL))

    assert link(body, 'data-count="total"') == ("/numbers/", "4")
    assert "4 of 4 active numbers cannot be routed" in text(body)
    assert "+1415555000" not in body


def test_large_counts_have_thousands_separators(client, owner, account, make_number, monkeypatch):
    from numbers_app import health

    real = health.routing_health

    def inflated(*, account):
        figures = real(account=account)
        return health.RoutingHealth(
            total=1234567,
            by_status=[health.Count("Active", 1234000, {"status": "active"}), *figures.by_status[1:]],
            active=1234000,
            not_routable=health.Count("Not routable", 45678, None),
            reasons=[health.Count(NO_AGENT_REASON, 45678, health.NO_AGENT_FILTERS), *figures.reasons[1:]],
        )

    monkeypatch.setattr("numbers_app.views.overview.routing_health", inflated)
    client.force_login(owner)

    body = text(html(client.get(URL)))

    assert "1,234,567 numbers" in body
    assert "1,234,000 active" in body
    assert "45,678 of 1,234,000 active numbers cannot be routed" in body


# Recent activity


def test_recent_activity_lists_the_latest_changes_linking_existing_numbers(client, owner, account, other_account):
    kept = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550100")
    gone = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550101")
    services.number_delete(actor=TEST_ACTOR, number=gone)
    services.number_create(actor=TEST_ACTOR, account=other_account, number="+14155550199")
    client.force_login(owner)

    body = html(client.get(URL))

    assert f'<a href="/numbers/{kept.pk}/">+14155550100</a>' in body
    assert "+14155550101 (deleted)" in text(body)
    assert "+14155550199" not in body
    assert '<a href="/activity/">All activity</a>' in body


def test_recent_activity_shows_the_ten_latest(client, owner, account):
    for i in range(12):
        services.number_create(actor=TEST_ACTOR, account=account, number=f"+1415555{i:04d}")
    client.force_login(owner)

    response = client.get(URL)

    assert [event.number for event in response.context["events"]] == [f"+1415555{i:04d}" for i in range(11, 1, -1)]


# The chart


def test_the_chart_has_a_bar_for_each_day_with_changes_linking_to_its_activity(client, owner, account):
    now = timezone.now()
    for i in range(3):
        services.number_create(actor=TEST_ACTOR, account=account, number=f"+1415555{i:04d}")
    NumberEvent.objects.filter(number="+14155550000").update(occurred_at=now - timedelta(days=3))
    client.force_login(owner)

    body = html(client.get(URL))

    bars = re.findall(r'<a href="([^"]*)"><rect [^>]*data-day="([^"]*)" data-count="(\d+)"', body)
    today, three_days_ago = now.date().isoformat(), (now - timedelta(days=3)).date().isoformat()
    # The trigger counted the event on the day it was written; the update moved it only in
    # NumberEvent, so the chart (NumberEventDay) still counts it today: 3 today.
    assert bars == [(f"/activity/?since={today}&amp;until={today}", today, "3")]
    assert three_days_ago not in [day for _, day, _ in bars]
    assert "3 changes" in text(body)
    assert '<svg class="chart"' in body and "<script" not in body.split("<main ")[1]


def test_the_chart_bars_scale_to_the_busiest_day():
    day = datetime(2026, 12, 1, tzinfo=UTC).date()
    per_day = [(day - timedelta(days=2), 0), (day - timedelta(days=1), 1), (day, 400)]

    bars = chart_bars(per_day)

    assert [bar["height"] for bar in bars] == [0, 2, CHART_HEIGHT]  # a lone change still shows
    assert [bar["y"] for bar in bars] == [CHART_HEIGHT, CHART_HEIGHT - 2, 0]
    assert bars[0]["x"] < bars[1]["x"] < bars[2]["x"]
    assert bars[2]["url"] == "/activity/?since=2026-12-01&until=2026-12-01"


def test_the_days_link_to_an_activity_page_that_lists_that_day(client, owner, account):
    services.number_create(actor=TEST_ACTOR, account=account, number="+14155550100")
    client.force_login(owner)
    today = timezone.now().date().isoformat()

    response = client.get("/activity/", {"since": today, "until": today})

    assert [event.number for event in response.context["page"].object_list] == ["+14155550100"]


# The top bar


def test_the_top_bar_has_the_overview_marked_current(client, owner):
    client.force_login(owner)

    body = html(client.get(URL))

    assert '<a href="/" aria-current="page">Overview</a>' in body
    assert '<a href="/numbers/" >Numbers</a>' in body or '<a href="/numbers/">Numbers</a>' in body


# Queries

# Session, the user with their account (the top bar names it), the tally's sums, the days of
# the chart, the latest events, and which of their numbers still exist = 6.
OVERVIEW_QUERIES = 6


@pytest.mark.parametrize("size", [2, 40])
def test_the_page_runs_the_same_number_of_queries_whatever_the_numbers_and_events(
    client, owner, account, make_voice_agent, size, django_assert_num_queries
):
    agents = [make_voice_agent(account) for _ in range(3)]
    for i in range(size):
        number = services.number_create(
            actor=TEST_ACTOR,
            account=account,
            number=f"+1415555{i:04d}",
            voice_agent=agents[i % 3] if i % 2 else None,
            provider=PhoneNumber.Provider.values[i % 2],
        )
        if i % 4 == 0:
            services.number_delete(actor=TEST_ACTOR, number=number)
    client.force_login(owner)

    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get(URL)

    assert response.status_code == 200
