"""`manage.py createoperator --account NAME --username U --password P`: creates a dashboard
user of the account (creating the account if missing) or sets an existing user's password."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kalem_site.accounts.models import Account, User


def createoperator(**options) -> str:
    out = StringIO()
    call_command("createoperator", stdout=out, **options)
    return out.getvalue()


def test_it_creates_a_user_in_an_existing_account(account, client):
    output = createoperator(account="Acme", username="dave", password="dave-password")

    assert output == "Created operator 'dave' of account 'Acme'.\n"
    user = User.objects.get(username="dave")
    assert user.account == account
    assert user.check_password("dave-password")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    # ...who can sign in to the dashboard and sees the account.
    signed_in = client.post("/login/", {"username": "dave", "password": "dave-password"})
    assert signed_in.status_code == 302, signed_in.content
    assert client.get("/numbers/").status_code == 200


def test_the_account_name_matches_regardless_of_case(account):
    createoperator(account="  acme ", username="dave", password="dave-password")

    assert User.objects.get(username="dave").account == account
    assert Account.objects.count() == 1


def test_it_creates_the_account_when_missing(db):
    output = createoperator(account="Initech", username="peter", password="peter-password")

    assert output == "Created operator 'peter' of account 'Initech'.\n"
    assert User.objects.get(username="peter").account == Account.objects.get(name="Initech")


def test_it_updates_the_password_of_an_existing_user(owner, account):
    output = createoperator(account="Acme", username="alice", password="new-password")

    assert output == "Updated the password of operator 'alice' of account 'Acme'.\n"
    owner.refresh_from_db()
    assert owner.check_password("new-password")
    assert not owner.check_password("alice-password")
    assert owner.account == account
    assert User.objects.filter(username="alice").count() == 1


def test_it_refuses_a_user_of_another_account(outsider, account):
    with pytest.raises(CommandError, match="User 'charlie' belongs to another account."):
        createoperator(account="Acme", username="charlie", password="stolen-password")

    outsider.refresh_from_db()
    assert outsider.check_password("charlie-password")
    assert outsider.account.name == "Globex"


def test_refusing_creates_no_account_either(outsider):
    with pytest.raises(CommandError):
        createoperator(account="Initech", username="charlie", password="x-password")

    assert not Account.objects.filter(name="Initech").exists()


@pytest.mark.parametrize(
    "options",
    [
        {"account": " ", "username": "dave", "password": "p"},
        {"account": "Acme", "username": "  ", "password": "p"},
        {"account": "Acme", "username": "dave", "password": ""},
    ],
)
def test_empty_values_are_refused(db, options):
    with pytest.raises(CommandError, match="must not be empty"):
        createoperator(**options)

    assert not User.objects.filter(username="dave").exists()


def test_every_option_is_required(db):
    with pytest.raises(CommandError, match="--password"):
        call_command("createoperator", "--account", "Acme", "--username", "dave")
