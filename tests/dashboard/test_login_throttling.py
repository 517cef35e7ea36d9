"""Failed sign-ins are throttled (issue 11, item 4): after LOGIN_FAILURE_LIMIT failures for a
username (from any address) or from an address (for any usernames), the dashboard's and the
admin's sign-in answer a 429 page, even to the right password, until LOGIN_COOLOFF_MINUTES
have passed; every failure is logged, never with the password. The API's tokens are not
sign-ins and are not affected."""

import datetime
import logging
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import override_settings

from kalem_site.accounts.services import token_create
from kalem_site.accounts.throttle import client_address

LIMIT = settings.LOGIN_FAILURE_LIMIT
WRONG = "not-alices-password-9"


def sign_in(client, username="alice", password=WRONG, address="10.0.0.1", url="/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def assert_locked_out(response):
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-ins" in body
    assert f"After {LIMIT} failed attempts" in body
    assert f"for {settings.LOGIN_COOLOFF_MINUTES} minutes" in body
    assert response["Retry-After"] == str(settings.LOGIN_COOLOFF_MINUTES * 60)


def test_the_limit_is_a_few_and_the_cool_off_some_minutes():
    assert 3 <= LIMIT <= 10 and settings.LOGIN_COOLOFF_MINUTES >= 5


def test_wrong_passwords_get_the_form_until_the_limit_then_a_429_that_says_why(client, owner):
    answers = [sign_in(client) for _ in range(LIMIT)]

    assert [answer.status_code for answer in answers[:-1]] == [200] * (LIMIT - 1)
    assert "Please enter a correct username and password" in answers[0].content.decode()
    assert_locked_out(answers[-1])
    assert_locked_out(sign_in(client))


def test_during_the_lockout_the_right_password_is_refused_and_signs_nobody_in(client, owner):
    for _ in range(LIMIT):
        sign_in(client)

    assert_locked_out(sign_in(client, password="alice-password"))
    assert SESSION_KEY not in client.session


def test_one_username_is_locked_out_whatever_address_the_failures_come_from(client, owner):
    for index in range(LIMIT):
        sign_in(client, address=f"10.0.1.{index + 1}")

    assert_locked_out(sign_in(client, password="alice-password", address="10.0.2.1"))


def test_one_address_is_locked_out_whatever_usernames_it_tries(client, owner, teammate):
    for index in range(LIMIT):
        sign_in(client, username=f"guess{index}", address="10.0.3.1")

    assert_locked_out(sign_in(client, password="alice-password", address="10.0.3.1"))
    # Alice from elsewhere, and her teammate from elsewhere, are not affected.
    assert sign_in(client, password="alice-password", address="10.0.3.2").status_code == 302


def test_after_the_cool_off_the_right_password_signs_in(client, owner):
    for _ in range(LIMIT):
        sign_in(client)
    assert_locked_out(sign_in(client, password="alice-password"))

    # The cool-off runs from the last failure: move every failure back past it.
    cool_off = datetime.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES, seconds=1)
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - cool_off)

    response = sign_in(client, password="alice-password")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(owner.pk)


def test_a_success_before_the_limit_starts_the_count_again(client, owner):
    for _ in range(LIMIT - 1):
        sign_in(client)
    assert sign_in(client, password="alice-password").status_code == 302
    client.post("/logout/")

    answers = [sign_in(client) for _ in range(LIMIT - 1)]
    assert [answer.status_code for answer in answers] == [200] * (LIMIT - 1)


def test_the_admin_sign_in_is_throttled_too(client, django_user_model):
    django_user_model.objects.create_superuser(username="root", password="root-password-1")
    for _ in range(LIMIT):
        sign_in(client, username="root", url="/admin/login/")

    assert_locked_out(sign_in(client, username="root", password="root-password-1", url="/admin/login/"))


def test_every_failure_is_logged_with_username_and_address_never_the_password(client, owner, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(LIMIT + 1):
        sign_in(client, address="10.0.4.1")
    sign_in(client, password="alice-password", address="10.0.4.1")  # refused: locked out

    failures = [record for record in caplog.records if record.name == "kalem_site.login"]
    assert len(failures) >= LIMIT
    assert all("'alice'" in record.getMessage() and "10.0.4.1" in record.getMessage() for record in failures)
    assert WRONG not in caplog.text
    assert "alice-password" not in caplog.text


def test_the_apis_bearer_tokens_are_not_affected_by_a_locked_out_address(client, owner, account):
    for _ in range(LIMIT):
        sign_in(client, address="127.0.0.1")
    token = token_create(account=account, name="Integration", created_by=owner).plaintext

    response = client.get("/api/v1/numbers", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200


class FakeRequest:
    def __init__(self, **meta):
        self.META = meta


def test_the_client_address_is_remote_addr_unless_behind_the_trusted_proxy():
    request = FakeRequest(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")

    assert client_address(request) == "10.9.9.9"  # a client's own X-Forwarded-For is not believed
    with override_settings(BEHIND_PROXY=True):
        # The proxy appended the address it saw; what came before is the client's say-so.
        assert client_address(request) == "203.0.113.7"
        assert client_address(FakeRequest(REMOTE_ADDR="10.9.9.9")) == "10.9.9.9"


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_limit_stops_the_server_from_starting(value):
    result = subprocess.run(
        [sys.executable, "-c", "import kalem_site.settings"],
        env={"LOGIN_FAILURE_LIMIT": value, "DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be" in result.stderr
