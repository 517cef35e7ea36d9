"""Keyboard first, in chromium (issue 15.3): find and fix a number in three actions by the
keyboard alone, with the key presses counted; `/`, the skip link, one Tab per row; and number
fields that take what people paste, pasted through the clipboard."""

import re

import pytest
from playwright.sync_api import Page, expect

from numbers_app.models import PhoneNumber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Before: about 90 key presses (31 Tabs to reach the search box). The digits typed count too.
FIND_AND_FIX_KEY_BUDGET = 20


class Keyboard:
    """The page's keyboard, counting what is pressed: a character typed is one press."""

    def __init__(self, page: Page):
        self.page, self.presses = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.presses += 1

    def type(self, text: str) -> None:
        for character in text:
            self.press(character)


@pytest.fixture
def numbers(account, owner, make_number, make_voice_agent, make_trunk):
    reception = make_voice_agent(account, "Reception")
    make_voice_agent(account, "Sales line")
    make_voice_agent(account, "Support desk")
    trunk = make_trunk(account, "Elastic SIP")
    target = make_number(account, "+14155550142", voice_agent=reception, trunk=trunk)
    for i in range(30):
        make_number(account, f"+1212555{1000 + i}", voice_agent=reception, trunk=trunk)
    return target


def sign_in(page: Page) -> None:
    """Sign in, then open the numbers list (where find and fix starts)."""
    page.goto("/login/?next=/numbers/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/numbers/$"))


def focused(page: Page) -> str:
    """The focused element, as `tag#id` or `tag[name]` and its text, for the assertions."""
    return page.evaluate(
        "() => { const e = document.activeElement; return `${e.tagName.toLowerCase()}`"
        " + (e.id ? `#${e.id}` : '') + (e.name ? `[${e.name}]` : '') + ' ' + (e.textContent || '').trim(); }"
    )


def test_find_and_fix_takes_three_actions_by_keyboard_alone(page, numbers, account):
    sign_in(page)
    keys = Keyboard(page)

    # 1. The list's search has focus on arrival: type the digits and press Enter.
    expect(page.locator("#search")).to_be_focused()
    keys.type("4155550142")
    keys.press("Enter")
    # A single match opens its page, the voice agent ready to change.
    expect(page).to_have_url(re.compile(rf"/numbers/{numbers.pk}/$"))
    expect(page.locator("select[name=voice_agent]")).to_be_focused()

    # 2. Change the agent: type the start of its name.
    keys.type("su")
    expect(page.locator("select[name=voice_agent] option:checked")).to_have_text("Support desk")

    # 3. Save: Tab to the button (past the text agent and trunk) and press Enter.
    while "Save" not in focused(page):
        keys.press("Tab")
        assert keys.presses < 40, focused(page)
    keys.press("Enter")

    expect(page.get_by_text(f"Number {numbers.number} saved.")).to_be_visible()
    numbers.refresh_from_db()
    assert numbers.voice_agent.name == "Support desk"
    print(f"find and fix: {keys.presses} key presses")
    assert keys.presses <= FIND_AND_FIX_KEY_BUDGET, keys.presses


def test_slash_focuses_the_number_search_from_any_page_and_opens_a_single_match(page, numbers):
    sign_in(page)
    page.get_by_role("link", name="SIP trunks").click()
    expect(page).to_have_url(re.compile(r"/trunks/$"))
    page.locator("body").click()  # nothing focused

    page.keyboard.press("/")
    expect(page.locator("#quick-search")).to_be_focused()
    page.keyboard.type("(415) 555-0142")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/numbers/{numbers.pk}/$"))
    # In a text field `/` is a slash.
    page.keyboard.press("/")
    expect(page.locator("#quick-search")).to_be_focused()
    page.keyboard.type("1/2")
    expect(page.locator("#quick-search")).to_have_value("1/2")


def test_the_skip_link_is_the_first_tab_and_leads_to_the_content(page, numbers):
    sign_in(page)
    page.goto("/trunks/")  # a page whose content has no autofocus

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    page.keyboard.press("Tab")
    # The first control of the content, not the top bar's.
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_rows_are_one_tab_each_and_enter_opens_one(page, numbers):
    sign_in(page)
    page.locator("#search").fill("212555")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"search=212555"))
    rows = page.locator("a[data-row-link]")
    expect(rows).to_have_count(15)

    rows.nth(0).focus()
    for i in range(1, 4):
        page.keyboard.press("Tab")
        expect(rows.nth(i)).to_be_focused()
    # ↑ and ↓ too (with JavaScript), and Space ticks the focused row's box.
    page.keyboard.press("ArrowUp")
    expect(rows.nth(2)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("tbody tr").nth(2).locator("input[type=checkbox]")).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(3)).to_be_focused()
    wanted = rows.nth(3).inner_text()
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_contain_text(wanted)


def test_rows_are_one_tab_each_without_javascript(new_page, numbers):
    page = new_page(java_script_enabled=False)
    sign_in(page)
    rows = page.locator("a[data-row-link]")

    rows.nth(0).focus()
    page.keyboard.press("Tab")
    expect(rows.nth(1)).to_be_focused()
    # The form's marker works without JavaScript too: Enter in the search opens one match.
    page.locator("#search").fill("415-555-0142")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/numbers/{numbers.pk}/$"))


def paste(page: Page, selector: str, text: str) -> None:
    """Put `text` on the clipboard and paste it into the field with Ctrl+V, as a person would."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator(selector).click()
    page.locator(selector).fill("")
    page.keyboard.press("Control+V")
    expect(page.locator(selector)).to_have_value(text)


@pytest.mark.parametrize(
    "default_country, pasted, stored",
    [
        ("US", "+1 (415) 555-0199", "+14155550199"),
        ("US", "415-555-0199", "+14155550199"),
        ("US", "+1\u00a0415\u2011555\u20110199", "+14155550199"),
        ("GB", "020 7946 0123", "+442079460123"),
    ],
)
def test_a_pasted_number_is_added_in_e164(new_page, live_server, account, owner, default_country, pasted, stored):
    account.default_country = default_country
    account.save()
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page)
    page.get_by_role("link", name="Add number").click()

    paste(page, "#id_number", pasted)
    page.get_by_role("button", name="Add number").click()

    expect(page.get_by_text(f"Number {stored} added.")).to_be_visible()
    assert PhoneNumber.objects.get(account=account).number == stored


def test_a_pasted_number_in_the_search_opens_it(new_page, numbers):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page)

    paste(page, "#search", "+1 (415) 555-0142")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/numbers/{numbers.pk}/$"))
