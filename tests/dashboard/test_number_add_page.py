"""/numbers/add/: the "Add number" form, with the API's validation and messages shown next
to their fields; success goes back to the list with a flash message."""

import pytest
from django.test import Client

from numbers_app.models import PhoneNumber
from numbers_app.phone import PASTED_MESSAGE, TOO_LONG_MESSAGE
from tests.helpers import assert_login_redirect, field_errors, flashes, html

URL = "/numbers/add/"
DUPLICATE_MESSAGE = "This number is already registered."


def test_the_form_offers_the_accounts_agents_and_trunks_only(
    owner_client, account, other_account, make_voice_agent, make_text_agent, make_trunk
):
    make_voice_agent(account, "Sales")
    make_text_agent(account, "Chat")
    make_trunk(account, "Main")
    make_voice_agent(other_account, "Globex voice")
    make_text_agent(other_account, "Globex text")
    make_trunk(other_account, "Globex trunk")

    response = owner_client.get(URL)

    assert response.status_code == 200
    body = html(response)
    for name in ("number", "provider", "voice_agent", "text_agent", "trunk"):
        assert f'name="{name}"' in body
    assert "Sales" in body and "Chat" in body and "Main" in body
    assert "Globex" not in body
    assert PhoneNumber.objects.count() == 0


def test_a_valid_number_is_added_and_the_list_says_so(
    owner_client, account, make_voice_agent, make_text_agent, make_trunk
):
    voice = make_voice_agent(account)
    text = make_text_agent(account)
    trunk = make_trunk(account)

    response = owner_client.post(
        URL,
        {
            "number": "+14155550123",
            "provider": "twilio",
            "voice_agent": str(voice.pk),
            "text_agent": str(text.pk),
            "trunk": str(trunk.pk),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"
    assert flashes(response) == ["Number +14155550123 added."]
    row = PhoneNumber.objects.get(number="+14155550123")
    assert row.account == account
    assert (row.provider, row.status) == ("twilio", "active")
    assert (row.voice_agent, row.text_agent, row.trunk) == (voice, text, trunk)


def test_the_flash_message_is_shown_on_the_list(owner_client, account):
    response = owner_client.post(URL, {"number": "+14155550123", "provider": "manual"}, follow=True)

    assert response.status_code == 200
    assert '<li class="msg-success">Number +14155550123 added.</li>' in html(response)


def test_a_teammate_adds_to_the_shared_account(client, teammate, account):
    client.force_login(teammate)

    response = client.post(URL, {"number": "+14155550123", "provider": "manual"})

    assert response.status_code == 302
    assert PhoneNumber.objects.get(number="+14155550123").account == account


@pytest.mark.parametrize(
    "value, message",
    [
        ("+1555abc4567", PASTED_MESSAGE),
        ("+", PASTED_MESSAGE),
        ("++15551234567", PASTED_MESSAGE),
        ("+１５５５１２３４５６７", PASTED_MESSAGE),
        ("415 555 0142 ext 5", PASTED_MESSAGE),
        ("+1234567890123456", TOO_LONG_MESSAGE),
        ("+1" + "5" * 40, TOO_LONG_MESSAGE),
        ("+05551234567", "+05551234567 does not start with a country code (+1 415 555 0142, +44 20 7946 0000)."),
        ("555-0142", "555-0142 is only a local number; give it with its area code."),
        ("12", "12 is not a possible phone number of United States of America."),
    ],
)
def test_what_is_not_a_phone_number_gets_a_message_next_to_the_field(owner_client, account, value, message):
    """The dashboard takes numbers as people paste them (tests/dashboard/test_pasted_numbers.py);
    what is not a number at all says what it takes."""
    response = owner_client.post(URL, {"number": value, "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == [message]
    assert flashes(response) == []
    assert not PhoneNumber.objects.exists()


def test_a_number_not_possible_for_its_country_is_refused(owner_client, account):
    response = owner_client.post(URL, {"number": "+1555", "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == ["+1555 is not a possible phone number for country code +1."]
    assert not PhoneNumber.objects.exists()


def test_a_duplicate_gets_the_api_message_next_to_the_field(owner_client, account, make_number):
    existing = make_number(account)

    response = owner_client.post(URL, {"number": existing.number, "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == [DUPLICATE_MESSAGE]
    assert PhoneNumber.objects.filter(number=existing.number).count() == 1


def test_another_accounts_number_is_the_same_duplicate(owner_client, account, other_account, make_number):
    theirs = make_number(other_account)

    response = owner_client.post(URL, {"number": theirs.number, "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == [DUPLICATE_MESSAGE]
    assert other_account.name not in html(response)
    assert PhoneNumber.objects.get(number=theirs.number).account == other_account


def test_a_missing_number_is_required(owner_client, account):
    response = owner_client.post(URL, {"number": "", "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == ["This field is required."]
    assert not PhoneNumber.objects.exists()


def test_the_typed_number_is_kept_in_the_form_after_an_error(owner_client, account):
    response = owner_client.post(URL, {"number": "+1555abc", "provider": "twilio"})

    assert response.status_code == 200
    body = html(response)
    assert 'value="+1555abc"' in body
    assert '<option value="twilio" selected>' in body


@pytest.mark.parametrize(
    "field, make", [("voice_agent", "make_voice_agent"), ("text_agent", "make_text_agent"), ("trunk", "make_trunk")]
)
def test_another_accounts_agent_or_trunk_is_refused(owner_client, request, account, other_account, field, make):
    theirs = request.getfixturevalue(make)(other_account)

    response = owner_client.post(URL, {"number": "+14155550123", "provider": "manual", field: str(theirs.pk)})

    assert response.status_code == 200
    assert field_errors(response, field) == ["Select a valid choice. That choice is not one of the available choices."]
    assert not PhoneNumber.objects.exists()


def test_an_unknown_provider_is_refused(owner_client, account):
    response = owner_client.post(URL, {"number": "+14155550123", "provider": "sip"})

    assert response.status_code == 200
    assert field_errors(response, "provider") == ["Select a valid choice. sip is not one of the available choices."]
    assert not PhoneNumber.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in_and_add_nothing(client, db):
    assert_login_redirect(client.get(URL), URL)
    assert_login_redirect(client.post(URL, {"number": "+14155550123", "provider": "manual"}), URL)
    assert not PhoneNumber.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(owner, account):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(URL, {"number": "+14155550123", "provider": "manual"})

    assert response.status_code == 403
    assert not PhoneNumber.objects.exists()


def test_a_get_with_form_fields_in_the_url_adds_nothing(owner_client, account):
    response = owner_client.get(URL, {"number": "+14155550123", "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "number") == []
    assert not PhoneNumber.objects.exists()
