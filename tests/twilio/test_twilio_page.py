"""/numbers/twilio/: store the account's Twilio credentials (write-only: the page shows at
most "AC…" and the SID's last 4 characters), remove them, and sync from Twilio (against the
fake Twilio): the sync is a job of the queue with its own page, running and then its
report (the tests run the queue's tasks in-process). Changes are POSTs with CSRF; failures
are messages on the page, never a 500."""

import html as html_lib
import re

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from kalem_site.accounts.models import TwilioCredentials
from numbers_app.models import NumberEvent, PhoneNumber, TwilioSyncJob
from numbers_app.twilio import twilio_credentials_set
from tests.helpers import assert_login_redirect, field_errors, flashes, html
from tests.tasks import run_tasks

from .conftest import ACCOUNT_SID, AUTH_TOKEN

URL = "/numbers/twilio/"
CREDENTIALS_URL = "/numbers/twilio/credentials/"
DELETE_URL = "/numbers/twilio/credentials/delete/"
SYNC_URL = "/numbers/twilio/sync/"


def sync(client):
    """Start a sync, let a worker run it, and return the sync's page."""
    response = client.post(SYNC_URL)
    assert response.status_code == 302
    job = TwilioSyncJob.objects.latest("id")
    assert response["Location"] == f"{SYNC_URL}{job.pk}/"
    assert run_tasks() == 1
    return client.get(response["Location"])


def report_section(response, key: str) -> list[str]:
    """The numbers of one list of the sync report, after checking its count."""
    match = re.search(rf'<section data-report="{key}">(.*?)</section>', html(response), re.S)
    assert match, f"no report section {key}"
    numbers = re.findall(r"<li>(.*?)</li>", match.group(1))
    assert f'<span class="count">{len(numbers)}</span>' in match.group(1)
    return numbers


def assert_no_secret(response) -> None:
    body = html(response)
    assert ACCOUNT_SID not in body
    assert ACCOUNT_SID[2:] not in body
    assert AUTH_TOKEN not in body


# --- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path", [("get", URL), ("post", CREDENTIALS_URL), ("post", DELETE_URL), ("post", SYNC_URL)]
)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, method, path):
    response = getattr(client, method)(path)

    assert_login_redirect(response, path)


def test_without_credentials_the_page_offers_the_empty_form_and_no_sync(client, owner):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert '<p class="muted" data-credentials="none">No Twilio credentials stored.</p>' in body
    assert re.search(r'<input type="text" name="account_sid"(?![^>]*value=)[^>]*>', body)
    assert re.search(r'<input type="password" name="auth_token"(?![^>]*value=)[^>]*>', body)
    assert f'action="{SYNC_URL}"' not in body
    assert "Remove credentials" not in body


def test_the_numbers_list_links_to_the_page(client, owner):
    client.force_login(owner)

    response = client.get("/numbers/")

    assert response.status_code == 200
    assert f'<a class="button" href="{URL}">Import from Twilio</a>' in html(response)


# --- credentials -----------------------------------------------------------------------------


def test_storing_credentials_shows_only_the_sids_last_four_characters(client, owner, account):
    client.force_login(owner)

    response = client.post(CREDENTIALS_URL, {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN})

    assert response.status_code == 302
    assert response["Location"] == URL
    assert flashes(response) == ["Twilio credentials stored."]
    page = client.get(URL)
    assert page.status_code == 200
    assert 'Credentials stored: Account SID <span class="mono">AC…cdef</span>' in html(page)
    assert f'action="{SYNC_URL}"' in html(page)
    assert_no_secret(page)
    stored = TwilioCredentials.objects.get()
    assert stored.account == account
    assert (stored.get_account_sid(), stored.get_auth_token()) == (ACCOUNT_SID, AUTH_TOKEN)


def test_a_teammate_sees_that_credentials_are_stored(client, teammate, credentials):
    client.force_login(teammate)

    response = client.get(URL)

    assert response.status_code == 200
    assert 'Account SID <span class="mono">AC…cdef</span>' in html(response)
    assert_no_secret(response)


def test_an_invalid_sid_is_an_error_and_nothing_typed_is_sent_back(client, owner):
    client.force_login(owner)
    typed_sid = "AC" + "0123456789abcdef" * 2 + "99"

    response = client.post(CREDENTIALS_URL, {"account_sid": typed_sid, "auth_token": AUTH_TOKEN})

    assert response.status_code == 200
    assert field_errors(response, "account_sid") == [
        "Enter the Account SID: AC followed by 32 hexadecimal digits (Twilio Console, Account Info)."
    ]
    body = html(response)
    assert typed_sid not in body
    assert AUTH_TOKEN not in body
    assert not TwilioCredentials.objects.exists()


def test_missing_fields_are_errors_next_to_them(client, owner):
    client.force_login(owner)

    response = client.post(CREDENTIALS_URL, {"account_sid": "", "auth_token": ""})

    assert response.status_code == 200
    assert field_errors(response, "account_sid") == ["This field is required."]
    assert field_errors(response, "auth_token") == ["This field is required."]
    assert not TwilioCredentials.objects.exists()


def test_without_a_key_the_form_says_to_set_credentials_key(client, owner, settings):
    settings.CREDENTIALS_KEY = ""
    client.force_login(owner)

    response = client.post(CREDENTIALS_URL, {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN})

    assert response.status_code == 200
    assert (
        "Set CREDENTIALS_KEY in the server&#x27;s environment to store and use Twilio credentials (see README)."
        in html(response)
    )
    assert_no_secret(response)
    assert not TwilioCredentials.objects.exists()


def test_credentials_the_key_cannot_read_are_flagged_on_the_page(client, owner, credentials, settings):
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert "Credentials stored," in body
    assert "encrypted with another CREDENTIALS_KEY and cannot be read; store them again." in body
    assert "Remove credentials" in body


def test_removing_credentials_forgets_them(client, owner, credentials):
    client.force_login(owner)

    response = client.post(DELETE_URL)

    assert response.status_code == 302
    assert response["Location"] == URL
    assert flashes(response) == ["Twilio credentials removed."]
    assert not TwilioCredentials.objects.exists()


# --- sync ------------------------------------------------------------------------------------


def test_sync_creates_the_missing_numbers_and_shows_the_report(
    client, owner, account, other_account, credentials, fake_twilio, make_number
):
    make_number(account, "+14155550101", provider="manual")
    make_number(account, "+14155550190", provider="twilio")
    make_number(other_account, "+14155550103")
    fake_twilio.numbers = ["+14155550101", "+14155550102", "+14155550103", "+1555"]
    client.force_login(owner)

    response = sync(client)

    assert response.status_code == 200
    assert '<li class="msg-success">Twilio lists 4 numbers; 1 created here.</li>' in html(response)
    assert report_section(response, "created") == ["+14155550102"]
    assert report_section(response, "already_here") == ["+14155550101"]
    assert report_section(response, "taken_by_other_account") == ["+14155550103"]
    assert report_section(response, "only_here") == ["+14155550190"]
    assert report_section(response, "invalid") == ["+1555"]
    assert_no_secret(response)
    created = PhoneNumber.objects.get(number="+14155550102")
    assert (created.account, created.provider, created.status) == (account, "twilio", "active")
    event = NumberEvent.objects.get()
    assert (event.number, event.action, event.actor_type, event.actor_name, event.channel) == (
        "+14155550102",
        "created",
        "user",
        "alice",
        "import",
    )
    assert PhoneNumber.objects.get(number="+14155550103").account == other_account


def test_syncing_again_creates_nothing(client, owner, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)
    sync(client)

    response = sync(client)

    assert response.status_code == 200
    assert report_section(response, "created") == []
    assert report_section(response, "already_here") == ["+14155550101"]
    assert PhoneNumber.objects.count() == 1
    assert NumberEvent.objects.count() == 1


def test_sync_with_bad_credentials_shows_the_error_and_writes_nothing(client, owner, account, fake_twilio):
    twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token="0" * 32)
    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)

    response = sync(client)

    assert response.status_code == 200
    assert (
        '<div class="form-errors" role="alert">Twilio refused the stored credentials (HTTP 401, Twilio error 20003). '
        "Check the Account SID and the auth token.</div>"
    ) in html(response)
    assert 'data-report="created"' not in html(response)
    assert_no_secret(response)
    assert not PhoneNumber.objects.exists()
    assert not NumberEvent.objects.exists()


def test_sync_with_twilio_out_of_reach_shows_the_error(client, owner, credentials, twilio_down):
    client.force_login(owner)

    response = sync(client)

    assert response.status_code == 200
    assert re.search(
        r'<div class="form-errors" role="alert">Could not connect to Twilio \(127\.0\.0\.1:\d+\); try again later\.</div>',
        html(response),
    )
    assert not PhoneNumber.objects.exists()


def test_sync_without_credentials_says_to_store_them(client, owner, fake_twilio):
    client.force_login(owner)

    response = client.post(SYNC_URL)

    assert response.status_code == 200
    assert '<li class="msg-error">Store the Twilio credentials of the account first.</li>' in html(response)
    assert fake_twilio.requests == []


def test_no_page_shows_the_sid_or_the_token(client, owner, credentials, fake_twilio, make_number, account):
    make_number(account, provider="twilio")
    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)

    for response in (client.get(URL), sync(client), client.get(URL), client.get("/jobs/"), client.get("/numbers/")):
        assert response.status_code == 200
        assert_no_secret(response)


# --- methods, CSRF and other accounts --------------------------------------------------------


@pytest.mark.parametrize("path", [CREDENTIALS_URL, DELETE_URL, SYNC_URL])
def test_changes_need_a_post(client, owner, credentials, fake_twilio, path):
    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)

    response = client.get(path, {"account_sid": "AC" + "1" * 32, "auth_token": "x"})

    assert response.status_code == 405
    assert fake_twilio.requests == []
    assert TwilioCredentials.objects.get().get_account_sid() == ACCOUNT_SID
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("path", [CREDENTIALS_URL, DELETE_URL, SYNC_URL])
def test_changes_without_the_csrf_token_are_refused(owner, credentials, fake_twilio, path):
    fake_twilio.numbers = ["+14155550101"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(path, {"account_sid": "AC" + "1" * 32, "auth_token": "x" * 32})

    assert response.status_code == 403
    assert fake_twilio.requests == []
    assert TwilioCredentials.objects.get().get_account_sid() == ACCOUNT_SID
    assert not PhoneNumber.objects.exists()


def test_the_outsider_sees_only_their_own_empty_state(client, outsider, credentials):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert "No Twilio credentials stored." in body
    assert "Credentials stored" not in body
    assert "AC…cdef" not in body
    assert_no_secret(response)


def test_the_outsider_cannot_sync_with_another_accounts_credentials(client, outsider, credentials, fake_twilio):
    fake_twilio.numbers = ["+14155550101"]
    client.force_login(outsider)

    response = client.post(SYNC_URL)

    assert response.status_code == 200
    assert '<li class="msg-error">Store the Twilio credentials of the account first.</li>' in html(response)
    assert fake_twilio.requests == []
    assert not PhoneNumber.objects.exists()


def test_the_outsider_cannot_remove_another_accounts_credentials(client, outsider, credentials, account):
    client.force_login(outsider)

    response = client.post(DELETE_URL)

    assert response.status_code == 302
    assert flashes(response) == ["No Twilio credentials were stored."]
    assert TwilioCredentials.objects.get().account == account


def test_the_outsider_storing_credentials_leaves_another_accounts_alone(client, outsider, credentials, other_account):
    client.force_login(outsider)

    response = client.post(CREDENTIALS_URL, {"account_sid": "AC" + "1" * 32, "auth_token": "2" * 32})

    assert response.status_code == 302
    assert sorted((c.account.name, c.get_account_sid()) for c in TwilioCredentials.objects.all()) == [
        ("Acme", ACCOUNT_SID),
        ("Globex", "AC" + "1" * 32),
    ]


# --- the sync as a job of the queue ----------------------------------------------------------


def test_a_waiting_sync_shows_its_page_and_a_second_click_joins_it(client, owner, credentials, fake_twilio):
    from django_tasks_db.models import DBTaskResult

    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)

    first = client.post(SYNC_URL)
    second = client.post(SYNC_URL)

    job = TwilioSyncJob.objects.get()
    assert first["Location"] == second["Location"] == f"{SYNC_URL}{job.pk}/"
    assert DBTaskResult.objects.count() == 1
    assert fake_twilio.requests == []
    body = html(client.get(first["Location"]))
    assert '<meta http-equiv="refresh" content="2">' in body
    assert "Waiting for a worker to start the sync." in body
    assert 'data-report="created"' not in body
    assert not PhoneNumber.objects.exists()

    assert run_tasks() == 1

    job.refresh_from_db()
    assert (job.state, job.listed, job.report["created"]) == ("done", 1, ["+14155550101"])
    assert job.actor == {"type": "user", "name": "alice", "channel": "import"}
    body = html(client.get(first["Location"]))
    assert 'http-equiv="refresh"' not in body
    assert "Twilio lists 1 number; 1 created here." in body
    assert f'href="{SYNC_URL}{job.pk}/"' in html(client.get("/jobs/"))


def test_the_outsider_gets_404_for_another_accounts_sync(client, owner, outsider, credentials, fake_twilio):
    client.force_login(owner)
    sync(client)
    job = TwilioSyncJob.objects.get()
    client.force_login(outsider)

    assert client.get(f"{SYNC_URL}{job.pk}/").status_code == 404
    assert "Sync from Twilio</a>" not in html(client.get("/jobs/"))


def test_a_sync_that_raises_is_failed_with_a_message_and_the_worker_goes_on(
    client, owner, credentials, fake_twilio, monkeypatch, caplog
):
    from numbers_app import twilio_jobs

    fake_twilio.numbers = ["+14155550101"]
    client.force_login(owner)

    def broken(**kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(twilio_jobs, "twilio_sync", broken)
    client.post(SYNC_URL)
    failed = TwilioSyncJob.objects.get()
    assert run_tasks() == 1

    failed.refresh_from_db()
    assert failed.state == "failed"
    assert failed.error == twilio_jobs.UNEXPECTED_MESSAGE
    [logged] = [record for record in caplog.records if record.getMessage() == f"Twilio sync job {failed.pk} failed"]
    assert logged.exc_info[0] is ZeroDivisionError
    body = html_lib.unescape(html(client.get(f"{SYNC_URL}{failed.pk}/")))
    assert twilio_jobs.UNEXPECTED_MESSAGE in body and "Sync again" in body
    assert not PhoneNumber.objects.exists()

    monkeypatch.undo()
    page = sync(client)
    assert "Twilio lists 1 number; 1 created here." in html(page)
