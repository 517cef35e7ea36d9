"""`manage.py createtoken --account NAME --name NAME [--read-only] [--expires-in-days N]`."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kalem_site.accounts.models import Account, ApiToken
from numbers_app.models import PhoneNumber
from tests.helpers import client_for, next_e164

pytestmark = pytest.mark.django_db


def createtoken(*args: str) -> tuple[str, list[str]]:
    """Run the command; return the token (the last line printed) and all the lines."""
    out = StringIO()
    call_command("createtoken", *args, stdout=out)
    lines = out.getvalue().splitlines()
    return lines[-1], lines


def test_it_creates_the_account_when_it_does_not_exist():
    assert not Account.objects.exists()
    plaintext, lines = createtoken("--account", "Acme", "--name", "Production API")
    account = Account.objects.get()
    assert account.name == "Acme"
    token = ApiToken.objects.get()
    assert (token.account_id, token.name, token.read_only, token.expires_at) == (
        account.id,
        "Production API",
        False,
        None,
    )
    assert token.revoked_at is None and token.last_used_at is None


@pytest.mark.parametrize("spelling", ["Acme", "ACME", "acme", "  Acme  "])
def test_it_reuses_an_existing_account_whatever_the_case(account, spelling):
    createtoken("--account", spelling, "--name", "Production API")
    assert list(Account.objects.all()) == [account]
    assert ApiToken.objects.get().account_id == account.id


def test_the_token_is_the_last_line_and_is_not_stored_in_plain_text():
    plaintext, lines = createtoken("--account", "Acme", "--name", "Production API")
    assert len(lines) >= 2  # something explains the token before it
    assert plaintext == plaintext.strip() and " " not in plaintext and len(plaintext) >= 32
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert len(token.digest) == 64 and all(c in "0123456789abcdef" for c in token.digest)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(plaintext in str(value) for value in stored.values()), stored


def test_each_run_prints_a_new_token():
    first, _ = createtoken("--account", "Acme", "--name", "One")
    second, _ = createtoken("--account", "Acme", "--name", "Two")
    assert first != second
    assert ApiToken.objects.count() == 2


def test_the_printed_token_works_against_the_api(account, make_number):
    number = make_number(account)
    plaintext, _ = createtoken("--account", "acme", "--name", "Production API")
    client = client_for(plaintext)
    listing = client.get("/api/v1/numbers")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["data"]] == [number.id]
    e164 = next_e164()
    created = client.post("/api/v1/numbers", {"number": e164}, format="json")
    assert created.status_code == 201
    assert PhoneNumber.objects.get(number=e164).account_id == account.id


def test_read_only_makes_a_token_that_reads_but_cannot_write(account, make_number):
    number = make_number(account, status="active")
    plaintext, _ = createtoken("--account", "Acme", "--name", "Reporting", "--read-only")
    assert ApiToken.objects.get().read_only is True
    client = client_for(plaintext)
    assert client.get("/api/v1/numbers").status_code == 200

    created = client.post("/api/v1/numbers", {"number": next_e164()}, format="json")
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "forbidden"
    changed = client.put(f"/api/v1/numbers/{number.id}", {"status": "inactive"}, format="json")
    assert changed.status_code == 403
    deleted = client.delete(f"/api/v1/numbers/{number.id}")
    assert deleted.status_code == 403
    number.refresh_from_db()
    assert number.status == "active"
    assert PhoneNumber.objects.count() == 1


def test_expires_in_days_sets_expires_at():
    before = timezone.now()
    plaintext, _ = createtoken("--account", "Acme", "--name", "Temporary", "--expires-in-days", "30")
    after = timezone.now()
    token = ApiToken.objects.get()
    assert before + timedelta(days=30) <= token.expires_at <= after + timedelta(days=30)
    assert client_for(plaintext).get("/api/v1/numbers").status_code == 200


def test_the_token_stops_working_when_it_expires():
    plaintext, _ = createtoken("--account", "Acme", "--name", "Temporary", "--expires-in-days", "1")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(plaintext).get("/api/v1/numbers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "args",
    [
        ["--account", "Acme", "--name", "T", "--expires-in-days", "0"],
        ["--account", "Acme", "--name", "T", "--expires-in-days", "-1"],
        ["--account", "Acme", "--name", "T", "--expires-in-days", "abc"],
        ["--account", "Acme", "--name", "T", "--expires-in-days", "1.5"],
        ["--account", "Acme", "--name", "T", "--expires-in-days", "10000000"],
        ["--account", "", "--name", "T"],
        ["--account", "   ", "--name", "T"],
        ["--account", "Acme", "--name", ""],
        ["--account", "Acme", "--name", "  "],
        ["--account", "A" * 101, "--name", "T"],
        ["--account", "Acme", "--name", "N" * 101],
        ["--account", "Acme"],
        ["--name", "T"],
    ],
)
def test_invalid_values_are_a_command_error_and_create_nothing(args):
    with pytest.raises(CommandError):
        call_command("createtoken", *args, stdout=StringIO())
    assert not Account.objects.exists()
    assert not ApiToken.objects.exists()


def test_a_name_of_100_characters_is_accepted():
    createtoken("--account", "A" * 100, "--name", "N" * 100)
    token = ApiToken.objects.select_related("account").get()
    assert (token.account.name, token.name) == ("A" * 100, "N" * 100)
