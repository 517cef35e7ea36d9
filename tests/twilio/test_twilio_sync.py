"""twilio_sync(): lists the Twilio account's incoming phone numbers through the `twilio`
package (against the fake Twilio), creates the missing ones as provider=twilio numbers with
their audit events, and reports what differs either way. Failures write nothing."""

import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from kalem_site.actors import Actor, Channel
from numbers_app.models import NumberEvent, PhoneNumber
from numbers_app.twilio import TwilioSyncError, twilio_credentials_set, twilio_sync
from tests.audit import TEST_ACTOR, events_of

from .conftest import ACCOUNT_SID, AUTH_TOKEN

CREATED_STATE = {"status": "active", "provider": "twilio", "voice_agent": None, "text_agent": None, "trunk": None}


def numbers_of(account) -> dict[str, str]:
    return dict(PhoneNumber.objects.for_account(account).values_list("number", "provider"))


def test_it_creates_the_missing_numbers_as_twilio_numbers_with_audit_events(account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101", "+14155550102"]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == ["+14155550101", "+14155550102"]
    assert (report.already_here, report.only_here, report.taken_by_other_account, report.invalid) == ([], [], [], [])
    assert report.listed == 2
    assert numbers_of(account) == {"+14155550101": "twilio", "+14155550102": "twilio"}
    for number in PhoneNumber.objects.for_account(account):
        assert number.status == "active"
        assert events_of(number.pk) == [("created", "", None, CREATED_STATE, "system", "tests", "command")]


def test_the_events_name_the_actor_and_the_import_channel(account, owner, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]

    twilio_sync(actor=Actor.for_user(owner, Channel.IMPORT), account=account)

    event = NumberEvent.objects.get(number="+14155550101")
    assert (event.action, event.actor_type, event.actor_name, event.channel) == ("created", "user", "alice", "import")
    assert event.account_id == account.pk


def test_it_reports_numbers_in_twilio_only_and_here_only(account, credentials, fake_twilio, make_number):
    make_number(account, "+14155550101", provider="manual")  # in Twilio too: left as it is
    make_number(account, "+14155550102", provider="twilio")  # in Twilio too
    make_number(account, "+14155550190", provider="twilio")  # no longer in Twilio
    make_number(account, "+14155550191", provider="manual")  # never was: not Twilio's business
    fake_twilio.numbers = ["+14155550102", "+14155550103", "+14155550101"]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == ["+14155550103"]
    assert report.already_here == ["+14155550101", "+14155550102"]
    assert report.only_here == ["+14155550190"]
    assert report.taken_by_other_account == []
    assert numbers_of(account) == {
        "+14155550101": "manual",
        "+14155550102": "twilio",
        "+14155550103": "twilio",
        "+14155550190": "twilio",
        "+14155550191": "manual",
    }
    assert list(NumberEvent.objects.values_list("number", "action")) == [("+14155550103", "created")]


def test_a_number_of_another_account_is_reported_and_not_created(
    account, other_account, credentials, fake_twilio, make_number
):
    theirs = make_number(other_account, "+14155550102", provider="manual")
    fake_twilio.numbers = ["+14155550101", "+14155550102", "+14155550103"]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == ["+14155550101", "+14155550103"]
    assert report.taken_by_other_account == ["+14155550102"]
    assert numbers_of(account) == {"+14155550101": "twilio", "+14155550103": "twilio"}
    theirs.refresh_from_db()
    assert (theirs.account, theirs.provider) == (other_account, "manual")
    assert events_of(theirs.pk) == []


def test_running_it_twice_creates_nothing_the_second_time(account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101", "+14155550102"]
    twilio_sync(actor=TEST_ACTOR, account=account)

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == []
    assert report.already_here == ["+14155550101", "+14155550102"]
    assert PhoneNumber.objects.count() == 2
    assert NumberEvent.objects.count() == 2


def test_it_reads_every_page_of_a_long_list(account, credentials, fake_twilio):
    fake_twilio.max_page_size = 50
    fake_twilio.numbers = [f"+1415555{i:04d}" for i in range(120)]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert len(report.created) == 120
    assert report.listed == 120
    assert PhoneNumber.objects.for_account(account).filter(provider="twilio").count() == 120
    # The first page asked for as many as Twilio serves; the others followed next_page_uri.
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"
    assert [request.split("?")[0] for request in fake_twilio.requests] == [path] * 3
    assert fake_twilio.requests[0] == f"{path}?PageSize=1000"
    assert "Page=1&PageToken=PA" in fake_twilio.requests[1]
    assert "Page=2&PageToken=PA" in fake_twilio.requests[2]


def test_an_empty_twilio_account_creates_nothing(account, credentials, fake_twilio, make_number):
    make_number(account, "+14155550190", provider="twilio")

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert (report.listed, report.created, report.only_here) == (0, [], ["+14155550190"])


def test_what_twilio_lists_that_is_not_e164_is_reported_and_skipped(account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101", "+1555", "14155550102"]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == ["+14155550101"]
    assert report.invalid == ["+1555", "14155550102"]
    assert numbers_of(account) == {"+14155550101": "twilio"}


def test_it_asks_twilio_before_opening_its_transaction(transactional_db, account, credentials, fake_twilio):
    seen = []
    fake_twilio.on_request = lambda: seen.append(connection.in_atomic_block)
    fake_twilio.numbers = ["+14155550101"]

    report = twilio_sync(actor=TEST_ACTOR, account=account)

    assert report.created == ["+14155550101"]
    assert seen == [False]


# --- failures --------------------------------------------------------------------------------


def assert_nothing_written(account) -> None:
    assert not PhoneNumber.objects.exists()
    assert not NumberEvent.objects.exists()


def test_bad_credentials_are_a_clear_error_and_nothing_is_written(account, fake_twilio):
    twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token="0" * 32)
    fake_twilio.numbers = ["+14155550101"]

    with pytest.raises(TwilioSyncError) as raised:
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert str(raised.value) == (
        "Twilio refused the stored credentials (HTTP 401, Twilio error 20003). Check the Account SID and the auth token."
    )
    assert_nothing_written(account)


def test_an_account_sid_twilio_does_not_know_is_a_clear_error(account, fake_twilio):
    twilio_credentials_set(account=account, account_sid="AC" + "f" * 32, auth_token=AUTH_TOKEN)

    with pytest.raises(TwilioSyncError, match=r"^Twilio refused the stored credentials \(HTTP 401"):
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert_nothing_written(account)


@pytest.mark.parametrize(
    "status, code, message",
    [
        (
            503,
            20503,
            "Twilio could not list the phone numbers right now (HTTP 503, Twilio error 20503); try again later.",
        ),
        (
            429,
            20429,
            "Twilio could not list the phone numbers right now (HTTP 429, Twilio error 20429); try again later.",
        ),
        (403, 20403, "Twilio refused to list the phone numbers (HTTP 403, Twilio error 20403)."),
    ],
)
def test_an_error_answer_from_twilio_is_a_clear_error(account, credentials, fake_twilio, status, code, message):
    fake_twilio.failure = (status, code, f"Refused for /2010-04-01/Accounts/{ACCOUNT_SID}")

    with pytest.raises(TwilioSyncError) as raised:
        twilio_sync(actor=TEST_ACTOR, account=account)

    # Twilio's own message is not passed on: it can quote the path, which holds the SID.
    assert str(raised.value) == message
    assert_nothing_written(account)


@pytest.mark.parametrize("body", ["<html><body>Sign in to the Wi-Fi</body></html>", '{"unexpected": 1, "shape": 2}'])
def test_an_answer_that_is_not_a_page_of_numbers_is_a_clear_error(account, credentials, fake_twilio, body):
    fake_twilio.html_answer = body

    with pytest.raises(TwilioSyncError, match="^Twilio's answer could not be read; nothing was imported.$"):
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert_nothing_written(account)


def test_twilio_out_of_reach_is_a_clear_error(account, credentials, twilio_down, settings):
    host = settings.TWILIO_API_BASE_URL.removeprefix("http://")

    with pytest.raises(TwilioSyncError) as raised:
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert str(raised.value) == f"Could not connect to Twilio ({host}); try again later."
    assert_nothing_written(account)


def test_a_twilio_that_does_not_answer_in_time_is_a_clear_error(account, credentials, fake_twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    fake_twilio.delay = 2
    fake_twilio.numbers = ["+14155550101"]

    with pytest.raises(TwilioSyncError) as raised:
        twilio_sync(actor=TEST_ACTOR, account=account)

    host = fake_twilio.base_url.removeprefix("http://")
    assert str(raised.value) == f"Twilio ({host}) did not answer within 0.3 seconds; try again later."
    assert_nothing_written(account)


def test_without_credentials_it_refuses(account, fake_twilio):
    with pytest.raises(TwilioSyncError, match="^Store the Twilio credentials of the account first.$"):
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert fake_twilio.requests == []
    assert_nothing_written(account)


def test_another_accounts_credentials_are_not_used(other_account, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]

    with pytest.raises(TwilioSyncError, match="^Store the Twilio credentials of the account first.$"):
        twilio_sync(actor=TEST_ACTOR, account=other_account)

    assert fake_twilio.requests == []
    assert not PhoneNumber.objects.exists()


def test_credentials_stored_under_another_key_are_a_clear_error(account, credentials, fake_twilio, settings):
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()

    with pytest.raises(TwilioSyncError) as raised:
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert str(raised.value) == (
        "The stored Twilio credentials were encrypted with another CREDENTIALS_KEY and cannot be read; "
        "store them again."
    )
    assert fake_twilio.requests == []


def test_without_a_key_it_refuses_and_says_which_setting(account, credentials, fake_twilio, settings):
    settings.CREDENTIALS_KEY = ""

    with pytest.raises(TwilioSyncError, match=r"^Set CREDENTIALS_KEY in the server's environment"):
        twilio_sync(actor=TEST_ACTOR, account=account)

    assert fake_twilio.requests == []


@pytest.mark.parametrize("token", [AUTH_TOKEN, "0" * 32])
def test_nothing_logged_holds_the_sid_or_the_token(account, fake_twilio, caplog, token):
    twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token=token)
    fake_twilio.numbers = ["+14155550101"]

    with caplog.at_level(logging.DEBUG):
        try:
            twilio_sync(actor=TEST_ACTOR, account=account)
        except TwilioSyncError:
            pass

    assert caplog.records  # the sync's own line, or its failure
    assert ACCOUNT_SID not in caplog.text
    assert ACCOUNT_SID[2:] not in caplog.text
    assert token not in caplog.text
