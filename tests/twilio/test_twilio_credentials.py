"""twilio_credentials_set() / twilio_credentials_delete(): an account's Twilio Account SID and
auth token, checked, stored encrypted with CREDENTIALS_KEY (never in plaintext), and shown
nowhere: the admin lists only which accounts have them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from kalem_site.accounts.models import TwilioCredentials
from numbers_app.twilio import (
    ACCOUNT_SID_MESSAGE,
    AUTH_TOKEN_MESSAGE,
    twilio_credentials_delete,
    twilio_credentials_set,
)

from .conftest import ACCOUNT_SID, AUTH_TOKEN

PROJECT = Path(__file__).resolve().parents[2]


def raw_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_sid_encrypted, auth_token_encrypted FROM accounts_twiliocredentials")
        return cursor.fetchall()


def test_it_stores_both_encrypted_and_reads_them_back(account):
    credentials = twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)

    assert credentials.account == account
    [(sid_column, token_column)] = raw_rows()
    for column in (sid_column, token_column):
        assert ACCOUNT_SID not in column
        assert ACCOUNT_SID[2:] not in column
        assert AUTH_TOKEN not in column
    assert sid_column != token_column
    stored = TwilioCredentials.objects.get(account=account)
    assert (stored.get_account_sid(), stored.get_auth_token()) == (ACCOUNT_SID, AUTH_TOKEN)
    assert stored.account_sid_hint() == "AC…cdef"


def test_surrounding_spaces_are_dropped(account):
    twilio_credentials_set(account=account, account_sid=f"  {ACCOUNT_SID}\n", auth_token=f" {AUTH_TOKEN} ")

    stored = TwilioCredentials.objects.get(account=account)
    assert (stored.get_account_sid(), stored.get_auth_token()) == (ACCOUNT_SID, AUTH_TOKEN)


def test_storing_again_replaces_them(account, credentials):
    new_sid, new_token = "AC" + "1" * 32, "2" * 32

    replaced = twilio_credentials_set(account=account, account_sid=new_sid, auth_token=new_token)

    assert replaced.pk == credentials.pk
    stored = TwilioCredentials.objects.get()
    assert (stored.get_account_sid(), stored.get_auth_token()) == (new_sid, new_token)


@pytest.mark.parametrize(
    "account_sid",
    [
        "",
        "AC123",
        "AC" + "0" * 31,
        "AC" + "0" * 33,
        "SK" + "0" * 32,  # an API key's SID, not the account's
        "ac" + "0" * 32,
        "AC" + "G" * 32,
        "AC" + "0123456789ABCDEF" * 2,  # Twilio writes SIDs in lower case
    ],
)
def test_an_account_sid_that_is_not_AC_and_32_hex_digits_is_refused(account, account_sid):
    with pytest.raises(ValidationError) as raised:
        twilio_credentials_set(account=account, account_sid=account_sid, auth_token=AUTH_TOKEN)

    assert raised.value.message_dict == {"account_sid": [ACCOUNT_SID_MESSAGE]}
    assert not TwilioCredentials.objects.exists()


@pytest.mark.parametrize("auth_token", ["", "   ", "with space", "x" * 129, "tab\there"])
def test_an_empty_or_malformed_token_is_refused(account, auth_token):
    with pytest.raises(ValidationError) as raised:
        twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token=auth_token)

    assert raised.value.message_dict == {"auth_token": [AUTH_TOKEN_MESSAGE]}
    assert not TwilioCredentials.objects.exists()


def test_without_a_key_storing_is_refused_and_says_which_setting(account, settings):
    settings.CREDENTIALS_KEY = ""

    with pytest.raises(ValidationError) as raised:
        twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)

    assert raised.value.messages == [
        "Set CREDENTIALS_KEY in the server's environment to store and use Twilio credentials (see README)."
    ]
    assert not TwilioCredentials.objects.exists()


def test_deleting_forgets_them(account, credentials):
    assert twilio_credentials_delete(account=account) is True

    assert not TwilioCredentials.objects.exists()
    assert twilio_credentials_delete(account=account) is False


def test_deleting_leaves_another_accounts_alone(account, other_account, credentials):
    assert twilio_credentials_delete(account=other_account) is False

    assert TwilioCredentials.objects.get().account == account


def test_a_malformed_key_stops_the_server_from_starting():
    env = {**os.environ, "DEBUG": "1", "CREDENTIALS_KEY": "not-a-fernet-key"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "CREDENTIALS_KEY is not a Fernet key. Generate one with: python -c" in result.stderr


# --- admin -----------------------------------------------------------------------------------


def test_the_admin_lists_which_accounts_have_credentials_and_shows_neither(staff_client, credentials):
    [(sid_column, token_column)] = raw_rows()

    for path in (
        "/admin/accounts/twiliocredentials/",
        f"/admin/accounts/twiliocredentials/{credentials.pk}/change/",
    ):
        response = staff_client.get(path)

        assert response.status_code == 200
        body = response.content.decode()
        assert "Acme" in body
        for secret in (ACCOUNT_SID, ACCOUNT_SID[2:], AUTH_TOKEN, sid_column, token_column):
            assert secret not in body
        assert not re.search(r'name="(account_sid|auth_token)', body)


def test_credentials_cannot_be_added_changed_or_deleted_in_the_admin(staff_client, credentials):
    assert staff_client.get("/admin/accounts/twiliocredentials/add/").status_code == 403
    response = staff_client.post(f"/admin/accounts/twiliocredentials/{credentials.pk}/change/", {"account": ""})
    assert response.status_code == 403
    assert staff_client.post(f"/admin/accounts/twiliocredentials/{credentials.pk}/delete/").status_code == 403

    assert TwilioCredentials.objects.get().get_auth_token() == AUTH_TOKEN
