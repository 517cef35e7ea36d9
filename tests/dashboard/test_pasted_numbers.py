"""Number fields of the dashboard take what people paste (issue 15.3): international numbers
with any punctuation, national numbers read in the account's default country (a setting,
US unless changed), stored in E.164 as the CSV import stores them. The API stays strict."""

import pytest

from kalem_site.accounts.models import Account
from numbers_app import services
from numbers_app.models import PhoneNumber
from tests.audit import TEST_ACTOR
from tests.helpers import assert_login_redirect, assert_validation_error, field_errors, flashes, html

ADD = "/numbers/add/"
SETTINGS = "/settings/account/"


@pytest.mark.parametrize(
    "pasted, stored",
    [
        ("+1 (415) 555-0142", "+14155550142"),
        ("415-555-0142", "+14155550142"),
        ("(415) 555-0142", "+14155550142"),
        ("415.555.0142", "+14155550142"),
        ("1 415 555 0142", "+14155550142"),
        ("+1\u00a0415\u2011555\u20110142", "+14155550142"),  # a no-break space and hyphens, from a web page
        ("\u202a+1 415 555 0142\u202c", "+14155550142"),  # direction marks, from a chat app
        ("tel:+14155550142", "+14155550142"),
        ("  +44 20 7946 0000 ", "+442079460000"),
        ("0044 20 7946 0000", "+442079460000"),
        ("011 44 20 7946 0000", "+442079460000"),
    ],
)
def test_a_pasted_number_is_stored_in_e164(owner_client, account, pasted, stored):
    response = owner_client.post(ADD, {"number": pasted, "provider": "manual"})

    assert response.status_code == 302, field_errors(response, "number")
    assert flashes(response) == [f"Number {stored} added."]
    assert PhoneNumber.objects.get(account=account).number == stored


def test_a_national_number_is_read_in_the_accounts_default_country(owner_client, account):
    account.default_country = "GB"
    account.save()

    response = owner_client.post(ADD, {"number": "020 7946 0000", "provider": "manual"})

    assert response.status_code == 302
    assert PhoneNumber.objects.get(account=account).number == "+442079460000"


def test_the_add_form_says_which_country_national_numbers_are_of(owner_client, account):
    account.default_country = "DE"
    account.save()

    body = html(owner_client.get(ADD))

    assert "or as a number of Germany (the account&#x27;s default country)" in body
    assert f'href="{SETTINGS}"' in body


def test_the_api_keeps_its_strict_contract(api, account):
    response = api.post("/api/v1/numbers", {"number": "415-555-0142"}, format="json")

    assert assert_validation_error(response, "number") == {
        "number": ["Enter a phone number in E.164 format, e.g. +15551234567."]
    }
    assert not PhoneNumber.objects.exists()


def test_the_activity_filter_takes_a_pasted_national_number(owner_client, account):
    services.number_create(actor=TEST_ACTOR, account=account, number="+14155550142")
    services.number_create(actor=TEST_ACTOR, account=account, number="+14155550143")

    response = owner_client.get("/activity/", {"number": "(415) 555-0142"})

    assert response.status_code == 200
    assert [event.number for event in response.context["page"]] == ["+14155550142"]
    assert not response.context["filterset"].errors


# --- the list's search -----------------------------------------------------------------------


def test_a_pasted_number_finds_it_in_the_list(owner_client, account, make_number):
    make_number(account, "+14155550142")
    make_number(account, "+14155550143")

    for pasted in ("+1 (415) 555-0142", "415-555-0142", "415\u2011555\u20110142"):
        response = owner_client.get("/numbers/", {"search": pasted})
        assert [n["number"] for n in response.context["page"].object_list] == ["+14155550142"], pasted


def test_a_national_number_with_its_trunk_prefix_finds_the_number(owner_client, account, make_number):
    """`020 7946 0000`'s digits are not in +442079460000: read in GB, it is that number."""
    account.default_country = "GB"
    account.save()
    make_number(account, "+442079460000")
    make_number(account, "+442079460001")

    response = owner_client.get("/numbers/", {"search": "020 7946 0000"})

    assert [n["number"] for n in response.context["page"].object_list] == ["+442079460000"]
    assert 'value="020 7946 0000"' in html(response)  # the box keeps what was typed


def test_digits_are_still_searched_as_typed(owner_client, account, make_number):
    """A US account searching a London number's digits without the 0 still finds it."""
    make_number(account, "+442079460000")

    response = owner_client.get("/numbers/", {"search": "2079460000"})

    assert [n["number"] for n in response.context["page"].object_list] == ["+442079460000"]


# --- the setting -------------------------------------------------------------------------------


def test_a_new_account_reads_national_numbers_as_us_numbers(db):
    assert Account.objects.create(name="New").default_country == "US"


def test_the_operator_changes_the_default_country_on_the_settings_page(client, teammate, account):
    client.force_login(teammate)

    page = client.get(SETTINGS)
    response = client.post(SETTINGS, {"default_country": "GB"})

    assert page.status_code == 200
    assert '<option value="US" selected>United States of America</option>' in html(page)
    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    assert flashes(response) == [
        "Settings saved: numbers without a country code are read as numbers of United Kingdom."
    ]
    account.refresh_from_db()
    assert account.default_country == "GB"


@pytest.mark.parametrize("value", ["ZZ", "AQ", "gb ", ""])
def test_a_country_without_a_numbering_plan_is_refused(owner_client, account, value):
    response = owner_client.post(SETTINGS, {"default_country": value})

    assert response.status_code == 200
    assert field_errors(response, "default_country")
    account.refresh_from_db()
    assert account.default_country == "US"


def test_the_setting_is_the_users_own_accounts(client, outsider, account, other_account):
    client.force_login(outsider)

    client.post(SETTINGS, {"default_country": "FR"})

    account.refresh_from_db()
    other_account.refresh_from_db()
    assert (account.default_country, other_account.default_country) == ("US", "FR")


def test_anonymous_visitors_are_sent_to_sign_in(client, account):
    assert_login_redirect(client.get(SETTINGS), SETTINGS)
    assert_login_redirect(client.post(SETTINGS, {"default_country": "FR"}), SETTINGS)
    account.refresh_from_db()
    assert account.default_country == "US"


def test_staff_change_it_in_the_admin(staff_client, account):
    response = staff_client.post(
        f"/admin/accounts/account/{account.pk}/change/", {"name": account.name, "default_country": "JP"}
    )
    refused = staff_client.post(
        f"/admin/accounts/account/{account.pk}/change/", {"name": account.name, "default_country": "ZZ"}
    )

    assert response.status_code == 302
    assert refused.status_code == 200
    assert "default_country" in refused.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.default_country == "JP"
