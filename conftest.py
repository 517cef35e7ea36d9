"""Actors shared by every suite: an owner and a teammate of one account, an outsider of
another, each with API clients and the owner signed in to the dashboard; a staff user in the
Django admin; plus small factories for the objects they own. Helpers are in tests/helpers.py."""

import pytest
from django.db import connection
from django.test import Client
from model_bakery import baker
from rest_framework.test import APIClient

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.models import Account, User
from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import client_for, next_e164, serial


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
def owner_client(client, owner) -> Client:
    """The dashboard, signed in as the owner."""
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(client, django_user_model) -> Client:
    """The Django admin, signed in as a superuser of no account ("root"). Not pytest-django's
    `admin_client`, whose user is "admin"."""
    client.force_login(django_user_model.objects.create_superuser(username="root", password="x", email="r@x.io"))
    return client


@pytest.fixture
def make_voice_agent():
    def make(account: Account, name: str | None = None, **fields) -> VoiceAgent:
        return baker.make(VoiceAgent, account=account, name=name or f"Voice {serial()}", **fields)

    return make


@pytest.fixture
def make_text_agent():
    def make(account: Account, name: str | None = None, **fields) -> TextAgent:
        return baker.make(TextAgent, account=account, name=name or f"Text {serial()}", **fields)

    return make


@pytest.fixture
def make_trunk():
    def make(account: Account, name: str | None = None, **fields) -> SipTrunk:
        fields = {"direction": "inbound", "auth_type": "ip", "host": "10.0.0.1", **fields}
        return baker.make(SipTrunk, account=account, name=name or f"Trunk {serial()}", **fields)

    return make


@pytest.fixture
def make_number():
    def make(account: Account, number: str | None = None, **fields) -> PhoneNumber:
        return baker.make(PhoneNumber, account=account, number=number or next_e164(), **fields)

    return make


@pytest.fixture
def mixed_import(account, make_number, make_voice_agent, make_trunk):
    """What tests.helpers.MIXED_CSV imports against: Sales and Edge, a number on Edge
    (+15550000001) and an untouched one (+15550000002)."""
    sales = make_voice_agent(account, "Sales")
    edge = make_trunk(account, "Edge")
    on_edge = make_number(account, "+15550000001", trunk=edge)
    plain = make_number(account, "+15550000002")
    return sales, edge, on_edge, plain


def pytest_runtest_setup(item):
    # Some behaviour (several connections racing on one row) only means something on a
    # server database: SQLite's in-memory test database is not one.
    if item.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
