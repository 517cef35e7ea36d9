"""`manage.py seeddemo`: the demo data once, and a fresh demo token printed last each run."""

from io import StringIO

import pytest
from django.core.management import call_command

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.models import Account, ApiToken, User
from kalem_site.accounts.services import token_create
from numbers_app.management.commands.seeddemo import DEMO_ACCOUNT, DEMO_TOKEN_NAME
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def seeddemo() -> str:
    """Run the command; return the last line it printed."""
    out = StringIO()
    call_command("seeddemo", stdout=out)
    return out.getvalue().splitlines()[-1]


def counts(account: Account) -> dict[str, int]:
    return {
        model.__name__: model.objects.filter(account=account).count()
        for model in (VoiceAgent, TextAgent, SipTrunk, PhoneNumber)
    }


def test_it_seeds_the_demo_account():
    seeddemo()
    account = Account.objects.get(name=DEMO_ACCOUNT)
    assert counts(account) == {"VoiceAgent": 2, "TextAgent": 1, "SipTrunk": 2, "PhoneNumber": 24}
    assert PhoneNumber.objects.filter(account=account, status="inactive").exists()
    operator = User.objects.get(username="demo")
    assert operator.account_id == account.id
    assert operator.check_password("demo-password")


def test_running_it_twice_duplicates_nothing():
    seeddemo()
    account = Account.objects.get(name=DEMO_ACCOUNT)
    first = counts(account)
    numbers = list(PhoneNumber.objects.filter(account=account).order_by("id").values_list("id", "number"))

    seeddemo()
    assert Account.objects.filter(name__iexact=DEMO_ACCOUNT).count() == 1
    assert counts(account) == first
    assert list(PhoneNumber.objects.filter(account=account).order_by("id").values_list("id", "number")) == numbers
    assert User.objects.filter(username="demo").count() == 1


def test_the_last_line_is_a_working_token_of_the_demo_account():
    plaintext = seeddemo()
    response = client_for(plaintext).get("/api/v1/numbers")
    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 24
    token = ApiToken.objects.get(name=DEMO_TOKEN_NAME)
    assert token.account.name == DEMO_ACCOUNT
    assert token.read_only is False


def test_only_the_newest_demo_token_remains():
    first = seeddemo()
    second = seeddemo()
    assert first != second
    account = Account.objects.get(name=DEMO_ACCOUNT)
    assert ApiToken.objects.filter(account=account, name=DEMO_TOKEN_NAME).count() == 1
    assert client_for(second).get("/api/v1/numbers").status_code == 200
    response = client_for(first).get("/api/v1/numbers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_it_keeps_other_tokens_of_the_demo_account():
    seeddemo()
    account = Account.objects.get(name=DEMO_ACCOUNT)
    kept = token_create(account=account, name="Someone's integration")
    seeddemo()
    assert ApiToken.objects.filter(pk=kept.token.pk).exists()
    assert client_for(kept.plaintext).get("/api/v1/numbers").status_code == 200


def test_it_runs_again_after_the_demo_numbers_were_deleted():
    seeddemo()
    account = Account.objects.get(name=DEMO_ACCOUNT)
    PhoneNumber.objects.filter(account=account).delete()
    plaintext = seeddemo()
    assert counts(account) == {"VoiceAgent": 2, "TextAgent": 1, "SipTrunk": 2, "PhoneNumber": 24}
    assert client_for(plaintext).get("/api/v1/numbers").json()["meta"]["total"] == 24


def test_it_leaves_other_accounts_alone(account, make_number):
    number = make_number(account)
    seeddemo()
    assert list(PhoneNumber.objects.filter(account=account)) == [number]


def test_the_demo_carrier_uses_digest_auth_with_a_credentials_key():
    seeddemo()

    carrier = SipTrunk.objects.get(name="Carrier Outbound")
    assert (carrier.auth_type, carrier.username, carrier.sip_password()) == ("digest", "kalem_trunk", "change-me")


def test_without_a_credentials_key_the_demo_carrier_authenticates_by_ip(settings):
    """`make run` starts without CREDENTIALS_KEY: no trunk password can be stored then."""
    settings.CREDENTIALS_KEY = ""

    seeddemo()

    carrier = SipTrunk.objects.get(name="Carrier Outbound")
    assert (carrier.auth_type, carrier.password_encrypted) == ("ip", "")
