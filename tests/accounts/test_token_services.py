"""token_revoke: a revoked token is refused at once, and the first revocation time stays."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kalem_site.accounts.models import ApiToken
from kalem_site.accounts.services import token_create, token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(account):
    return token_create(account=account, name="Integration")


@pytest.fixture
def client(issued) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    return client


def test_a_revoked_token_gets_401_at_once(client, issued):
    assert client.get("/api/v1/numbers").status_code == 200
    before = timezone.now()
    token_revoke(token=issued.token)
    response = client.get("/api/v1/numbers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert before <= row.revoked_at <= timezone.now()


def test_revoking_a_token_loaded_elsewhere_also_refuses_it(client, issued):
    token_revoke(token=ApiToken.objects.get(pk=issued.token.pk))
    assert client.get("/api/v1/voice-agents").status_code == 401


def test_revoking_twice_keeps_the_first_time(issued):
    token_revoke(token=issued.token)
    first = ApiToken.objects.get(pk=issued.token.pk).revoked_at
    returned = token_revoke(token=ApiToken.objects.get(pk=issued.token.pk))
    assert returned.revoked_at == first
    token_revoke(token=issued.token)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at == first


def test_revoking_through_a_stale_copy_keeps_the_first_time(issued):
    """Two people revoke the same token from pages loaded before either click."""
    mine = ApiToken.objects.get(pk=issued.token.pk)
    theirs = ApiToken.objects.get(pk=issued.token.pk)
    token_revoke(token=mine)
    first = ApiToken.objects.get(pk=issued.token.pk).revoked_at
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=first - timedelta(minutes=5))
    first = first - timedelta(minutes=5)

    returned = token_revoke(token=theirs)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at == first
    assert returned.revoked_at == first


def test_revoking_one_token_leaves_the_others_working(account, client, issued):
    other = token_create(account=account, name="Other")
    token_revoke(token=other.token)
    assert client.get("/api/v1/numbers").status_code == 200
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None
