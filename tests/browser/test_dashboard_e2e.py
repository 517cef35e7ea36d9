"""The operator dashboard end to end: chromium against the live server, driven only through the
page's own controls (links, buttons, fields, selects). The only URL typed is the start page.

Each test signs in as the owner of an account seeded with agents, trunks and 20 numbers, and
checks what the page shows against the database."""

import json
import re
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from kalem_site.accounts.models import ApiToken
from numbers_app.models import PhoneNumber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Digits that are in the 8 numbers of +1 212 555 01xx and in none of the others.
SEARCH_QUERY = "555 01"


@pytest.fixture
def seeded(account, owner, make_number, make_voice_agent, make_text_agent, make_trunk):
    """A small but realistic account: 3 voice agents, 2 text agents, 3 trunks, 20 numbers."""
    reception = make_voice_agent(account, "Reception")
    sales = make_voice_agent(account, "Sales line")
    support = make_voice_agent(account, "Support desk")
    concierge = make_text_agent(account, "SMS concierge")
    booking = make_text_agent(account, "Booking bot")
    elastic = make_trunk(account, "Twilio Elastic SIP", host="54.172.60.0")
    pbx = make_trunk(
        account, "Office PBX", direction="outbound", auth_type="ip", host="", outbound_server="pbx.example.net:5060"
    )
    backup = make_trunk(account, "Backup carrier", host="203.0.113.7")

    numbers = []
    # New York: mostly live, on the Twilio trunk.
    for i, (status, voice, text, trunk) in enumerate(
        [
            ("active", reception, concierge, elastic),
            ("inactive", reception, concierge, elastic),
            ("inactive", reception, None, elastic),
            ("active", sales, booking, elastic),
            ("inactive", sales, None, pbx),
            ("active", support, concierge, None),
            ("active", None, None, None),
            ("inactive", reception, booking, pbx),
        ]
    ):
        numbers.append(
            make_number(
                account,
                f"+1212555{100 + i:04d}",
                status=status,
                provider="twilio",
                voice_agent=voice,
                text_agent=text,
                trunk=trunk,
            )
        )
    # London: manual numbers on the office PBX.
    for i, (status, voice) in enumerate(
        [
            ("active", sales),
            ("active", support),
            ("inactive", None),
            ("active", reception),
            ("active", sales),
            ("inactive", support),
        ]
    ):
        numbers.append(
            make_number(account, f"+44207946{i:04d}", status=status, provider="manual", voice_agent=voice, trunk=pbx)
        )
    # Denver: a mix, some unassigned.
    for i, (status, voice, trunk) in enumerate(
        [
            ("active", support, backup),
            ("inactive", reception, backup),
            ("active", None, None),
            ("active", sales, elastic),
            ("inactive", reception, elastic),
            ("active", None, backup),
        ]
    ):
        numbers.append(
            make_number(
                account, f"+1303555{2000 + i:04d}", status=status, provider="twilio", voice_agent=voice, trunk=trunk
            )
        )
    assert len(numbers) == 20
    return {
        "voice_agents": {a.name: a for a in (reception, sales, support)},
        "text_agents": {a.name: a for a in (concierge, booking)},
        "trunks": {t.name: t for t in (elastic, pbx, backup)},
        "numbers": numbers,
    }


# Helpers: reading the page


def sign_in(page: Page, username: str = "alice", password: str = "alice-password") -> None:
    """Sign in at the start page, which lands on the overview, then open the numbers list
    from the top bar."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers", exact=True).click()
    expect(page).to_have_url(re.compile(r"/numbers/$"))
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()


def query(page: Page) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(page.url).query).items()}


def shown_numbers(page: Page) -> set[str]:
    return set(page.locator("table.grid tbody tr[data-number]").evaluate_all("rows => rows.map(r => r.dataset.number)"))


def row(page: Page, number: str):
    return page.locator(f'table.grid tbody tr[data-number="{number}"]')


def facet_link(page: Page, param: str, label: str):
    """The sidebar choice `label` of the filter on `param` (its text is the label and a count)."""
    return page.locator(f'section.facet[data-param="{param}"] a').filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s+[\d,]+\s*$")
    )


def facet_count(page: Page, param: str, label: str) -> int:
    return int(facet_link(page, param, label).locator(".count").inner_text().replace(",", ""))


def messages(page: Page) -> list[str]:
    return page.locator("ul.messages li").all_inner_texts()


def numbers_where(**filters) -> set[str]:
    return set(PhoneNumber.objects.filter(**filters).values_list("number", flat=True))


# The tests


def test_sign_in_filter_by_facets_and_search(page: Page, seeded, screenshot):
    sign_in(page)
    everything = numbers_where()
    assert len(everything) == 20
    expect(page.locator("nav.pagination .range")).to_have_text("1–15 of 20")
    assert len(shown_numbers(page)) == 15

    # Show every row on one page with the per-page control.
    page.locator("#per_page").select_option("50")
    expect(page).to_have_url(re.compile(r"per_page=50"))
    assert shown_numbers(page) == everything

    # Status: the facet's count is what clicking it shows.
    inactive = numbers_where(status="inactive")
    assert facet_count(page, "status", "Inactive") == len(inactive)
    facet_link(page, "status", "Inactive").click()
    expect(page).to_have_url(re.compile(r"status=inactive"))
    assert query(page) == {"per_page": "50", "status": "inactive"}
    assert shown_numbers(page) == inactive
    expect(facet_link(page, "status", "Inactive")).to_have_attribute("aria-current", "true")

    # Voice agent, on top of the status.
    reception = seeded["voice_agents"]["Reception"]
    inactive_reception = numbers_where(status="inactive", voice_agent=reception)
    assert facet_count(page, "voice_agent_id", "Reception") == len(inactive_reception)
    facet_link(page, "voice_agent_id", "Reception").click()
    expect(page).to_have_url(re.compile(rf"status=inactive&voice_agent_id={reception.id}"))
    assert query(page) == {"per_page": "50", "status": "inactive", "voice_agent_id": str(reception.id)}
    assert shown_numbers(page) == inactive_reception
    assert len(inactive_reception) == 5

    # Trunk, on top of both.
    elastic = seeded["trunks"]["Twilio Elastic SIP"]
    expected = numbers_where(status="inactive", voice_agent=reception, trunk=elastic)
    assert facet_count(page, "trunk_id", "Twilio Elastic SIP") == len(expected)
    facet_link(page, "trunk_id", "Twilio Elastic SIP").click()
    expect(page).to_have_url(re.compile(rf"status=inactive&voice_agent_id={reception.id}&trunk_id={elastic.id}"))
    assert query(page) == {
        "per_page": "50",
        "status": "inactive",
        "voice_agent_id": str(reception.id),
        "trunk_id": str(elastic.id),
    }
    assert shown_numbers(page) == expected == {"+12125550101", "+12125550102", "+13035552004"}
    for number in expected:
        expect(row(page, number).locator(".badge")).to_have_text("Inactive")
        expect(row(page, number)).to_contain_text("Reception")
        expect(row(page, number)).to_contain_text("Twilio Elastic SIP")

    # "Unassigned" trunk, instead of the Twilio one (the other filters stay).
    facet_link(page, "trunk_id", "Unassigned").click()
    expect(page).to_have_url(re.compile(r"trunk_id=none"))
    assert shown_numbers(page) == numbers_where(status="inactive", voice_agent=reception, trunk=None) == set()
    expect(page.locator("td.empty")).to_contain_text("No numbers match these filters")

    # Clearing the trunk alone (its "All") keeps the other two filters.
    page.locator('section.facet[data-param="trunk_id"] a', has_text="All").click()
    assert query(page) == {"per_page": "50", "status": "inactive", "voice_agent_id": str(reception.id)}
    assert shown_numbers(page) == inactive_reception

    # Search with punctuation, after clearing every filter: digits anywhere in the number.
    page.get_by_role("link", name="Clear all filters").click()
    assert "voice_agent_id" not in query(page) and "trunk_id" not in query(page)
    page.get_by_label("Search numbers").fill(SEARCH_QUERY)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"search=555\+01"))
    assert query(page)["search"] == SEARCH_QUERY
    found = shown_numbers(page)
    assert found == {n for n in everything if "55501" in n}
    assert found == {f"+1212555{100 + i:04d}" for i in range(8)}
    expect(page.get_by_label("Search numbers")).to_have_value(SEARCH_QUERY)

    # The search and a facet combine, and the facet's count follows the search.
    assert facet_count(page, "status", "Active") == 4
    facet_link(page, "status", "Active").click()
    assert query(page)["search"] == SEARCH_QUERY and query(page)["status"] == "active"
    assert shown_numbers(page) == {n for n in numbers_where(status="active") if "55501" in n}


def test_add_number_then_deactivate_and_activate_it(page: Page, seeded, screenshot):
    sign_in(page)
    page.get_by_role("link", name="Add number").click()
    expect(page.get_by_role("heading", name="Add number")).to_be_visible()

    # A number without its area code: the error is next to the field, nothing is saved.
    # (Whole numbers are taken as pasted, `212-555-0199` too: tests/browser/test_keyboard.py.)
    page.get_by_label("Number").fill("555-0199")
    page.get_by_label("Voice agent").select_option(label="Support desk")
    page.get_by_role("button", name="Add number").click()
    error = page.locator("#id_number_errors")
    expect(error).to_have_text("555-0199 is only a local number; give it with its area code.")
    expect(page.locator(".field.has-error #id_number")).to_have_value("555-0199")
    # The other choices survive the round trip.
    expect(page.get_by_label("Voice agent")).to_have_value(str(seeded["voice_agents"]["Support desk"].id))
    assert PhoneNumber.objects.count() == 20
    screenshot(page, "number-form.png")

    # A number already in use: the API's duplicate message.
    page.get_by_label("Number").fill("+12125550100")
    page.get_by_role("button", name="Add number").click()
    expect(error).to_contain_text("already")
    assert PhoneNumber.objects.count() == 20

    # A good one.
    new = "+12125550199"
    page.get_by_label("Number").fill(new)
    page.get_by_label("Provider").select_option(label="Twilio")
    page.get_by_label("Voice agent").select_option(label="Support desk")
    page.get_by_label("Text agent").select_option(label="Booking bot")
    page.get_by_label("SIP trunk").select_option(label="Backup carrier")
    page.get_by_role("button", name="Add number").click()
    expect(page).to_have_url(re.compile(r"/numbers/$"))
    assert messages(page) == [f"Number {new} added."]
    created = PhoneNumber.objects.get(number=new)
    assert (created.status, created.provider) == ("active", "twilio")
    assert created.voice_agent == seeded["voice_agents"]["Support desk"]
    assert created.text_agent == seeded["text_agents"]["Booking bot"]
    assert created.trunk == seeded["trunks"]["Backup carrier"]

    # It is the 21st number, on page 2: find it with the search box instead (with the whole
    # number the search would open its page, tests/browser/test_keyboard.py; here a part).
    page.get_by_label("Search numbers").fill("(212) 555-01")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"search="))
    assert shown_numbers(page) == {n.number for n in seeded["numbers"] if n.number.startswith("+1212555")} | {new}
    the_row = row(page, new)
    expect(the_row.locator(".badge")).to_have_text("Active")
    expect(the_row).to_contain_text("Support desk")
    expect(the_row).to_contain_text("Booking bot")
    expect(the_row).to_contain_text("Backup carrier")

    # Deactivate with the row's button: back on the same filtered list.
    the_row.get_by_role("button", name="Deactivate").click()
    assert messages(page) == [f"Number {new} deactivated."]
    assert query(page)["search"] == "(212) 555-01"
    expect(the_row.locator(".badge")).to_have_text("Inactive")
    expect(the_row.get_by_role("button", name="Activate")).to_be_visible()
    assert PhoneNumber.objects.get(number=new).status == "inactive"

    # And activate it again.
    the_row.get_by_role("button", name="Activate").click()
    assert messages(page) == [f"Number {new} activated."]
    expect(the_row.locator(".badge")).to_have_text("Active")
    expect(the_row.get_by_role("button", name="Deactivate")).to_be_visible()
    assert PhoneNumber.objects.get(number=new).status == "active"
    # Nothing else moved.
    assert PhoneNumber.objects.count() == 21
    assert numbers_where(status="inactive") == {n.number for n in seeded["numbers"] if n.status == "inactive"}


def test_bulk_assign_a_trunk_to_selected_rows(page: Page, seeded, screenshot):
    sign_in(page)
    backup = seeded["trunks"]["Backup carrier"]
    # Four rows on other trunks (or none), and one already on the backup trunk: 4 change.
    picked = ["+12125550100", "+12125550104", "+12125550106", "+442079460002", "+13035552000"]
    assert PhoneNumber.objects.get(number="+13035552000").trunk == backup
    already_on_backup = numbers_where(trunk=backup)
    before = {n.number: n.updated_at for n in PhoneNumber.objects.all()}
    for number in picked:
        row(page, number).get_by_role("checkbox").check()

    page.locator("#bulk-action").select_option(label="Set SIP trunk")
    page.get_by_label("SIP trunk", exact=True).select_option(label="Backup carrier")
    page.get_by_role("button", name="Apply", exact=True).click()

    expect(page).to_have_url(re.compile(r"/numbers/$"))
    assert messages(page) == ["4 numbers assigned to SIP trunk Backup carrier."]
    assert numbers_where(trunk=backup) == set(picked) | already_on_backup
    for number in picked:
        expect(row(page, number)).to_contain_text("Backup carrier")
    # Only the rows that changed have a new updated_at.
    after = {n.number: n.updated_at for n in PhoneNumber.objects.all()}
    assert {n for n in after if after[n] != before[n]} == set(picked) - {"+13035552000"}
    # The sidebar counts follow.
    assert facet_count(page, "trunk_id", "Backup carrier") == len(set(picked) | already_on_backup) == 7
    assert facet_count(page, "trunk_id", "Unassigned") == len(numbers_where(trunk=None))
    # No checkbox stays checked after the round trip.
    assert page.locator('input[name="ids"]:checked').count() == 0
    # The list, with the sidebar and the flash, for the README.
    screenshot(page, "numbers-list.png")

    # Applying without selecting anything says so and changes nothing.
    page.locator("#bulk-action").select_option(label="Set SIP trunk")
    page.get_by_label("SIP trunk", exact=True).select_option(label="— none —")
    page.get_by_role("button", name="Apply", exact=True).click()
    assert messages(page) == [
        "Select one or more numbers first.",
        "Choose the SIP trunk to set, or choose “Unassign SIP trunk”.",
    ]
    assert numbers_where(trunk=backup) == set(picked) | already_on_backup


def test_the_list_works_without_javascript(new_page, seeded):
    """Every control of the list is a plain link, form or button: with JavaScript off, the
    per-page choice applies with the Search button and the bulk form still posts."""
    page = new_page(java_script_enabled=False)
    sign_in(page)
    expect(page.get_by_label("Select all rows")).to_be_hidden()
    page.locator("#per_page").select_option("50")
    assert "per_page" not in query(page)
    page.get_by_role("button", name="Search").click()
    assert query(page) == {"per_page": "50"}
    assert shown_numbers(page) == numbers_where()

    facet_link(page, "status", "Inactive").click()
    assert query(page) == {"per_page": "50", "status": "inactive"}
    picked = ["+12125550101", "+442079460002", "+13035552004"]
    for number in picked:
        row(page, number).get_by_role("checkbox").check()
    page.locator("#bulk-action").select_option(label="Activate")
    page.get_by_role("button", name="Apply", exact=True).click()
    assert messages(page) == ["3 numbers activated."]
    assert query(page)["status"] == "inactive"
    assert shown_numbers(page) == numbers_where(status="inactive")
    assert not numbers_where(status="inactive") & set(picked)


def api_get(base_url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/numbers?per_page=100",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_create_use_and_revoke_an_api_token(page: Page, seeded, live_server, screenshot):
    sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.locator("#new-token")).to_have_count(0)

    page.get_by_label("Name").fill("Zapier integration")
    page.get_by_role("button", name="Create token").click()
    assert messages(page) == ["Token Zapier integration created. Copy it now: it is shown only once."]
    plaintext = page.locator("input#new-token").input_value()
    token = ApiToken.objects.get(name="Zapier integration")
    assert plaintext.startswith(token.prefix) and len(plaintext) > len(token.prefix) + 16
    expect(page.locator('tr[data-token="Zapier integration"]')).to_contain_text(token.prefix)
    # The copy button is a progressive touch: shown when JavaScript runs.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    screenshot(page, "tokens.png")

    # It works against the API of the live server, and sees the account's numbers.
    status, body = api_get(live_server.url, plaintext)
    assert status == 200
    assert {n["number"] for n in body["data"]} == numbers_where()

    # Shown once. Reloading the page that shows it sends the create form again: that makes no
    # second token and shows the list without any plaintext.
    page.reload()
    expect(page).to_have_url(re.compile(r"/settings/tokens/$"))
    assert messages(page) == ["That form was already sent and its token created; it is not shown again."]
    expect(page.locator("#new-token")).to_have_count(0)
    assert ApiToken.objects.filter(name="Zapier integration").count() == 1
    assert plaintext not in page.content()
    expect(page.locator('tr[data-token="Zapier integration"]')).to_contain_text(token.prefix)
    # And a plain reload of the list does not either.
    page.reload()
    expect(page.locator("ul.messages")).to_have_count(0)
    expect(page.locator("#new-token")).to_have_count(0)
    assert plaintext not in page.content()

    # Revoke it.
    token_row = page.locator('tr[data-token="Zapier integration"]')
    token_row.get_by_role("button", name="Revoke").click()
    assert messages(page) == ["Token Zapier integration revoked."]
    expect(token_row.locator(".badge")).to_have_text("Revoked")
    expect(token_row.get_by_role("button", name="Revoke")).to_have_count(0)
    token.refresh_from_db()
    assert token.is_revoked

    status, body = api_get(live_server.url, plaintext)
    assert status == 401


# A worker thread writing beside the live server: SQLite's in-memory test database (shared
# cache) answers concurrent writers with "database table is locked" at once, so this runs in
# the PostgreSQL pass of CI (the worker processes of tests/live cover SQLite files).
@pytest.mark.postgres_only
def test_import_a_csv_file_then_read_its_timeline_and_the_activity(
    page: Page, seeded, tmp_path, screenshot, task_worker
):
    """Upload a CSV through the page, read the dry run, import, then find the changes on the
    number's timeline and on the Activity page."""
    sign_in(page)
    csv_file = tmp_path / "numbers.csv"
    csv_file.write_text(
        "number,provider,voice_agent,text_agent,trunk,status\n"
        "+1 212 555 0100,twilio,Sales line,SMS concierge,Twilio Elastic SIP,inactive\n"  # an update
        "+1 (303) 555-9999,manual,Support desk,,Backup carrier,active\n"  # a new number
        "+12125550101,twilio,Reception,SMS concierge,Twilio Elastic SIP,inactive\n"  # unchanged
        "+1 555,manual,Nobody,,,active\n"  # errors
    )

    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()

    # A worker runs the dry run; the page refreshes itself until it is done.
    expect(page.locator("h1 .badge")).to_have_text("Dry run done", timeout=20_000)
    expect(page.get_by_role("heading", name="Dry run", exact=True)).to_be_visible()
    outcomes = page.locator("table.grid tbody tr td:nth-child(3)").all_inner_texts()
    assert outcomes == ["update", "create", "unchanged", "error"]
    expect(page.locator("table.grid tbody")).to_contain_text("voice_agent: Reception → Sales line")
    expect(page.locator("table.grid tbody")).to_contain_text("Voice agent “Nobody” does not exist")
    assert PhoneNumber.objects.filter(number="+13035559999").count() == 0
    screenshot(page, "import-dry-run.png")

    page.get_by_role("button", name="Import 2 changes").click()

    expect(page.locator("h1 .badge")).to_have_text("Imported", timeout=20_000)
    expect(page.get_by_role("heading", name="Result", exact=True)).to_be_visible()
    new = PhoneNumber.objects.get(number="+13035559999")
    assert new.voice_agent == seeded["voice_agents"]["Support desk"]
    assert PhoneNumber.objects.get(number="+12125550100").voice_agent == seeded["voice_agents"]["Sales line"]

    page.get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()
    page.get_by_label("Through").select_option("import")
    page.get_by_role("button", name="Filter").click()
    # Newest first: the update's two changes, then the creation.
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("+12125550100")
    expect(rows.first).to_contain_text("Voice agent: Reception → Sales line")
    expect(rows.nth(1)).to_contain_text("Status: active → inactive")
    expect(rows.nth(2)).to_contain_text("+13035559999")
    expect(rows.nth(2)).to_contain_text("Created active, manual, voice agent Support desk, SIP trunk Backup carrier")
    screenshot(page, "activity.png")

    rows.first.get_by_role("link", name="+12125550100").click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Voice agent: Reception → Sales line")
    expect(timeline).to_contain_text("alice")
