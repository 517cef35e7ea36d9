"""Actors shared by every suite: an owner and a teammate of one account, an outsider of
another, each with API clients; plus small factories for the objects they own."""

import itertools

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.models import Account, User
from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber, SipTrunk

_serial = itertools.count(1)


def next_e164() -> str:
    """A fresh, possible US number for each call."""
    return f"+1555{next(_serial):07d}"


@pytest.fixture
def account(db) -> Account:
    return Account.objects.create(name="Acme")


@pytest.fixture
def other_account(db) -> Account:
    return Account.objects.create(name="Globex")


@pytest.fixture
def owner(account) -> User:
    return User.objects.create_user(username="alice", password="alice-password", account=account)


@pytest.fixture
def teammate(account) -> User:
    return User.objects.create_user(username="bob", password="bob-password", account=account)


@pytest.fixture
def outsider(other_account) -> User:
    return User.objects.create_user(username="charlie", password="charlie-password", account=other_account)


def client_for(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def api(account, owner) -> APIClient:
    """The owner's integration: a read-write token of the account."""
    return client_for(token_create(account=account, name="Owner token", created_by=owner).plaintext)


@pytest.fixture
def teammate_api(account, teammate) -> APIClient:
    return client_for(token_create(account=account, name="Teammate token", created_by=teammate).plaintext)


@pytest.fixture
def read_only_api(account) -> APIClient:
    return client_for(token_create(account=account, name="Read-only", read_only=True).plaintext)


@pytest.fixture
def outsider_api(other_account, outsider) -> APIClient:
    return client_for(token_create(account=other_account, name="Outsider token", created_by=outsider).plaintext)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_voice_agent():
    def make(account: Account, name: str | None = None, **fields) -> VoiceAgent:
        return baker.make(VoiceAgent, account=account, name=name or f"Voice {next(_serial)}", **fields)

    return make


@pytest.fixture
def make_text_agent():
    def make(account: Account, name: str | None = None, **fields) -> TextAgent:
        return baker.make(TextAgent, account=account, name=name or f"Text {next(_serial)}", **fields)

    return make


@pytest.fixture
def make_trunk():
    def make(account: Account, name: str | None = None, **fields) -> SipTrunk:
        fields = {"direction": "inbound", "auth_type": "ip", "host": "10.0.0.1", **fields}
        return baker.make(SipTrunk, account=account, name=name or f"Trunk {next(_serial)}", **fields)

    return make


@pytest.fixture
def make_number():
    def make(account: Account, number: str | None = None, **fields) -> PhoneNumber:
        return baker.make(PhoneNumber, account=account, number=number or next_e164(), **fields)

    return make
