"""The overview and the dashboard on a phone, end to end in chromium: the not-routable counts
lead to the lists of exactly those numbers; every page fits 390 px without sideways
scrolling; without JavaScript the Copy button stays hidden. Driven through the pages' own
links and buttons; the only URL typed is the start page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from numbers_app.models import NumberEvent, PhoneNumber
from numbers_app.selectors import NO_AGENT_REASON, NO_TRUNK_REASON, number_routing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def fleet(account, owner, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    """14 numbers of every routing kind, and 3 of another account that must never show."""
    reception = make_voice_agent(account, "Reception")
    make_voice_agent(account, "Agent 10")
    make_voice_agent(account, "Agent 2")
    concierge = make_text_agent(account, "SMS concierge")
    pbx = make_trunk(account, "Office PBX")
    rows = [
        # (number, status, provider, voice, text, trunk)
        ("+12125550100", "active", "manual", reception, None, pbx),  # routable
        ("+12125550101", "active", "twilio", None, concierge, None),  # routable (Twilio routes it)
        ("+12125550102", "active", "twilio", reception, None, pbx),  # routable
        ("+12125550103", "active", "twilio", None, None, None),  # no agent
        ("+12125550104", "active", "twilio", None, None, pbx),  # no agent
        ("+12125550105", "active", "manual", None, None, None),  # both reasons
        ("+12125550106", "active", "manual", reception, None, None),  # no trunk
        ("+12125550107", "active", "manual", None, concierge, None),  # no trunk
        ("+12125550108", "active", "manual", reception, concierge, None),  # no trunk
        ("+12125550109", "inactive", "manual", None, None, None),  # off: not counted
        ("+12125550110", "inactive", "twilio", reception, None, None),
        ("+442079460000", "active", "manual", reception, None, pbx),  # routable
        ("+442079460001", "active", "manual", None, None, pbx),  # no agent
        ("+442079460002", "active", "twilio", reception, concierge, pbx),  # routable
    ]
    for number, status, provider, voice, text, trunk in rows:
        make_number(account, number, status=status, provider=provider, voice_agent=voice, text_agent=text, trunk=trunk)
    for i in range(3):
        make_number(other_account, f"+13035550{i:03d}")
    numbers = PhoneNumber.objects.for_account(account)
    # A month of changes for the chart and the recent activity (the triggers count each on its day).
    now = timezone.now()
    NumberEvent.objects.bulk_create(
        NumberEvent(
            account=account,
            number_id=number.pk,
            number=number.number,
            action="deactivated" if day % 3 else "activated",
            field="status",
            before="active" if day % 3 else "inactive",
            after="inactive" if day % 3 else "active",
            actor_type="user",
            actor_name="alice",
            channel="dashboard",
            occurred_at=now - timedelta(days=day, minutes=60 - minute),
        )
        for day in range(29, -1, -1)
        for minute, number in enumerate(numbers[: 1 + (day * 7) % 11])
    )
    return numbers


def expected(numbers, reason: str | None = None) -> set[str]:
    """The active numbers the lookup calls not routable (for `reason`, or for any)."""
    return {
        number.number
        for number in numbers
        if number.status == "active"
        and not number_routing(number)[0]
        and (reason is None or reason in number_routing(number)[1])
    }


def sign_in_to_overview(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()


def shown_numbers(page: Page) -> set[str]:
    return set(page.locator("table.grid tbody tr[data-number]").evaluate_all("rows => rows.map(r => r.dataset.number)"))


def listed_total(page: Page) -> int:
    """The list's total, from its pagination ("1–5 of 5")."""
    return int(page.locator(".pagination .range").inner_text().split(" of ")[1].replace(",", ""))


def test_the_not_routable_counts_lead_to_the_lists_of_those_numbers(page: Page, fleet, screenshot):
    sign_in_to_overview(page)
    routing = page.locator('[data-overview="routing"]')
    expect(routing).to_contain_text(f"{len(expected(fleet))} of 12 active numbers cannot be routed")
    assert page.locator("svg.chart rect").count() == 30
    screenshot(page, "overview.png")

    for reason in (NO_AGENT_REASON, NO_TRUNK_REASON):
        link = routing.get_by_role("link", name=reason)
        count = int(link.locator("strong").inner_text())
        assert count == len(expected(fleet, reason))

        link.click()

        expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()
        assert shown_numbers(page) == expected(fleet, reason)
        assert listed_total(page) == count
        page.go_back()
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()

    routing.locator('[data-count="not-routable"]').click()
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()
    assert shown_numbers(page) == expected(fleet)
    assert listed_total(page) == len(expected(fleet))


def test_the_status_counts_lead_to_their_lists(page: Page, fleet):
    sign_in_to_overview(page)

    page.locator('[data-overview="numbers"]').get_by_role("link", name="2 inactive").click()

    assert shown_numbers(page) == {"+12125550109", "+12125550110"}


def fits(page: Page) -> None:
    """Nothing on the page is wider than the phone: no sideways scrolling of the page."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_every_page_fits_a_390_px_phone(new_page, fleet, screenshot):
    page = new_page(viewport=PHONE)
    sign_in_to_overview(page)
    fits(page)
    screenshot(page, "phone-overview.png")
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Numbers", exact=True).click()
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()
    fits(page)
    # The table scrolls sideways inside itself; its number column is within the screen's width.
    box = page.get_by_role("link", name="+12125550100").bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "phone-numbers.png")

    page.get_by_role("link", name="+12125550105").click()
    expect(page.get_by_role("heading", name="+12125550105")).to_be_visible()
    fits(page)
    screenshot(page, "phone-number.png")

    for name, heading in [
        ("Voice agents", "Voice agents"),
        ("SIP trunks", "SIP trunks"),
        ("Activity", "Activity"),
        ("Jobs", "Jobs"),
        ("Webhooks", "Webhooks"),
        ("API tokens", "API tokens"),
    ]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        fits(page)

    page.get_by_label("Name").fill("Phone")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    fits(page)


def test_without_javascript_the_copy_button_stays_hidden(new_page, fleet):
    page = new_page(java_script_enabled=False)
    sign_in_to_overview(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()

    page.get_by_label("Name").fill("No JS")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_label("New API token")).to_be_visible()
    assert page.locator("button[data-copy]").count() == 1
    expect(page.locator("button[data-copy]")).to_be_hidden()


def test_the_agent_facet_and_selects_are_in_natural_order(page: Page, fleet):
    sign_in_to_overview(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers", exact=True).click()

    facet = page.locator('section.facet[data-param="voice_agent_id"] li a')
    labels = [re.sub(r"\s*[\d,]+$", "", label.strip()) for label in facet.all_inner_texts()]

    assert labels == ["All", "Unassigned", "Agent 2", "Agent 10", "Reception"]
    options = page.locator("#bulk select[name=voice_agent] option").all_inner_texts()
    assert options == ["— none —", "Agent 2", "Agent 10", "Reception"]
