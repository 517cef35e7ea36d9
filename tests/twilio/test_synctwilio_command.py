"""`manage.py synctwilio --account NAME`: runs the Twilio sync with the account's stored
credentials (against the fake Twilio) and prints the report; every failure is a
CommandError that says why, with nothing written."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from numbers_app.models import NumberEvent, PhoneNumber
from numbers_app.twilio import twilio_credentials_set

from .conftest import ACCOUNT_SID


def synctwilio(**options) -> str:
    out = StringIO()
    call_command("synctwilio", stdout=out, **options)
    return out.getvalue()


def test_it_creates_the_missing_numbers_and_prints_the_report(
    account, other_account, credentials, fake_twilio, make_number
):
    make_number(account, "+14155550101", provider="twilio")
    make_number(account, "+14155550190", provider="twilio")
    make_number(other_account, "+14155550103")
    fake_twilio.numbers = ["+14155550101", "+14155550102", "+14155550103", "+14155550104", "+1555"]

    output = synctwilio(account="Acme")

    assert output == (
        "Twilio lists 5 number(s) for account 'Acme'.\n"
        "Created here: 2\n"
        "  +14155550102\n"
        "  +14155550104\n"
        "Already here: 1\n"
        "  +14155550101\n"
        "In Twilio, registered by another account (not created): 1\n"
        "  +14155550103\n"
        "Here only: provider Twilio, not in the Twilio account: 1\n"
        "  +14155550190\n"
        "In Twilio, not an E.164 number (skipped): 1\n"
        "  +1555\n"
    )
    created = PhoneNumber.objects.for_account(account).filter(number__in=["+14155550102", "+14155550104"])
    assert sorted(created.values_list("number", "provider")) == [
        ("+14155550102", "twilio"),
        ("+14155550104", "twilio"),
    ]
    events = NumberEvent.objects.order_by("number").values_list(
        "number", "action", "actor_type", "actor_name", "channel"
    )
    assert list(events) == [
        ("+14155550102", "created", "system", "synctwilio", "import"),
        ("+14155550104", "created", "system", "synctwilio", "import"),
    ]


def test_a_second_run_creates_nothing(account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]
    synctwilio(account="Acme")

    output = synctwilio(account="Acme")

    assert "Created here: 0\nAlready here: 1\n  +14155550101\n" in output
    assert PhoneNumber.objects.count() == 1
    assert NumberEvent.objects.count() == 1


def test_the_account_name_matches_regardless_of_case(account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]

    output = synctwilio(account="  aCME ")

    assert output.startswith("Twilio lists 1 number(s) for account 'Acme'.\n")
    assert PhoneNumber.objects.get().account == account


@pytest.mark.parametrize("name", ["Initech", "", "  "])
def test_an_unknown_account_is_an_error(account, credentials, fake_twilio, name):
    with pytest.raises(CommandError, match=f"^No account named {name!r}.$"):
        synctwilio(account=name)

    assert fake_twilio.requests == []


def test_an_account_without_credentials_is_an_error(other_account, fake_twilio):
    with pytest.raises(CommandError, match="^Store the Twilio credentials of the account first.$"):
        synctwilio(account="Globex")


def test_bad_credentials_are_an_error_and_nothing_is_written(account, fake_twilio):
    twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token="0" * 32)
    fake_twilio.numbers = ["+14155550101"]

    with pytest.raises(CommandError) as raised:
        synctwilio(account="Acme")

    assert str(raised.value) == (
        "Twilio refused the stored credentials (HTTP 401, Twilio error 20003). Check the Account SID and the auth token."
    )
    assert not PhoneNumber.objects.exists()
    assert not NumberEvent.objects.exists()


def test_twilio_out_of_reach_is_an_error(account, credentials, twilio_down):
    with pytest.raises(CommandError, match=r"^Could not connect to Twilio \(127\.0\.0\.1:\d+\); try again later\.$"):
        synctwilio(account="Acme")

    assert not PhoneNumber.objects.exists()


def test_without_a_key_it_is_an_error_naming_the_setting(account, credentials, fake_twilio, settings):
    settings.CREDENTIALS_KEY = ""

    with pytest.raises(CommandError, match=r"^Set CREDENTIALS_KEY in the server's environment"):
        synctwilio(account="Acme")

    assert fake_twilio.requests == []


def test_the_account_option_is_required(db):
    with pytest.raises(CommandError, match="--account"):
        call_command("synctwilio")
