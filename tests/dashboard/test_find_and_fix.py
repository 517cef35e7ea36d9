"""Find and fix in three actions, keyboard first (issue 15.3), as the server renders it: the
search forms' marker opens a single match, the list's search has focus on arrival, each row
is one Tab stop, a skip link leads to the content, and every page has a number search for
`/` (static/js/app.js). The keyboard itself is driven in tests/browser/test_keyboard.py."""

import re

from tests.helpers import assert_login_redirect, html


def test_a_search_form_with_one_match_opens_the_number(owner_client, account, make_number):
    number = make_number(account, "+14155550142")
    make_number(account, "+14155550143")

    response = owner_client.get("/numbers/", {"search": "415 555 0142", "jump": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"/numbers/{number.pk}/"


def test_a_search_form_with_several_matches_lists_them_at_the_lists_own_address(owner_client, account, make_number):
    make_number(account, "+14155550142")
    make_number(account, "+14155550143")

    response = owner_client.get("/numbers/", {"search": "415 555 014", "status": "active", "jump": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/?search=415+555+014&status=active"


def test_a_search_form_with_no_match_lists_nothing(owner_client, account, make_number):
    make_number(account, "+14155550142")

    response = owner_client.get("/numbers/", {"search": "999", "jump": "1"}, follow=True)

    assert response.redirect_chain == [("/numbers/?search=999", 302)]
    assert list(response.context["page"].object_list) == []


def test_a_plain_link_with_one_result_still_shows_the_list(owner_client, account, make_number):
    make_number(account, "+14155550142")
    make_number(account, "+14155550143")

    response = owner_client.get("/numbers/", {"search": "4155550142"})

    assert response.status_code == 200
    assert [n["number"] for n in response.context["page"].object_list] == ["+14155550142"]


def test_the_search_never_opens_another_accounts_number(owner_client, account, other_account, make_number):
    make_number(other_account, "+14155550142")

    response = owner_client.get("/numbers/", {"search": "4155550142", "jump": "1"})

    assert response["Location"] == "/numbers/?search=4155550142"


def test_an_invalid_search_sent_from_the_form_lists_nothing_and_says_why(owner_client, account, make_number):
    make_number(account, "+14155550142")

    response = owner_client.get("/numbers/", {"search": "abc", "jump": "1"}, follow=True)

    assert list(response.context["page"].object_list) == []
    assert "Nothing matches the search “abc”" in html(response)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert_login_redirect(client.get("/numbers/?search=1&jump=1"), "/numbers/?search=1&jump=1")


def test_the_lists_search_has_focus_and_its_default_button_sends_the_marker(owner_client, account, make_number):
    make_number(account)

    body = html(owner_client.get("/numbers/"))

    search = re.search(r'<input type="search" id="search"[^>]*>', body).group(0)
    assert " autofocus" in search and "data-search-shortcut" in search
    toolbar = re.search(r'<form class="toolbar".*?</form>', body, re.S).group(0)
    assert re.findall(r"<button[^>]*>", toolbar) == ['<button type="submit" name="jump" value="1">']
    # The list has its own search: no second one in the top bar.
    assert 'id="quick-search"' not in body


def test_each_row_is_one_tab_stop_its_number_opening_it(owner_client, account, make_number):
    number = make_number(account, "+14155550142")

    body = html(owner_client.get("/numbers/"))

    row = re.search(r'<tr data-number="\+14155550142">(.*?)</tr>', body, re.S).group(1)
    controls = re.findall(r"<(?:a|button|input|select)\b[^>]*>", row)
    in_tab_order = [control for control in controls if 'tabindex="-1"' not in control]
    assert in_tab_order == [f'<a href="/numbers/{number.pk}/" data-row-link>']


def test_every_page_has_a_skip_link_to_its_content(owner_client, account, make_number):
    number = make_number(account)

    for url in ("/numbers/", f"/numbers/{number.pk}/", "/trunks/", "/activity/", "/settings/account/"):
        body = html(owner_client.get(url))
        assert re.search(r'<body>\s*<a class="skip-link" href="#content">Skip to content</a>', body), url
        assert '<main id="content" tabindex="-1">' in body, url


def test_the_other_pages_have_the_number_search_in_the_top_bar(owner_client, account, make_number):
    number = make_number(account)

    for url in (f"/numbers/{number.pk}/", "/trunks/", "/voice-agents/", "/activity/", "/settings/tokens/"):
        body = html(owner_client.get(url))
        form = re.search(
            r'<form class="quick-search" role="search" method="get" action="/numbers/">(.*?)</form>', body, re.S
        )
        assert form, url
        assert 'name="search"' in form.group(1) and "data-search-shortcut" in form.group(1)
        assert '<input type="hidden" name="jump" value="1">' in form.group(1)


def test_the_number_page_opens_with_the_voice_agent_focused(owner_client, account, make_number):
    number = make_number(account)

    body = html(owner_client.get(f"/numbers/{number.pk}/"))

    assert re.search(r'<select name="voice_agent"[^>]* autofocus', body)


def test_the_account_name_links_to_its_settings(owner_client, account):
    body = html(owner_client.get("/numbers/"))

    assert f'<a href="/settings/account/" title="Account settings">{account.name}</a>' in body
