"""/settings/tokens/: the account's API tokens. Creating one shows its plaintext exactly once;
the list shows name, prefix, access and expiry; revoking (POST) stops the token at once."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kalem_site.accounts.models import ApiToken, hash_token
from kalem_site.accounts.services import token_create
from tests.helpers import assert_login_redirect, field_errors, flashes, html

URL = "/settings/tokens/"


def new_token_plaintext(response) -> str:
    match = re.search(r'<input type="text" id="new-token" class="mono" value="([^"]+)"', html(response))
    assert match, "the new token is not shown"
    return match.group(1)


def token_row(response, name: str) -> str:
    match = re.search(rf'<tr data-token="{re.escape(name)}">(.*?)</tr>', html(response), re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def api_status(plaintext: str) -> int:
    return Client().get("/api/v1/numbers", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code


@pytest.fixture
def issued(account, owner):
    return token_create(account=account, name="Production", created_by=owner)


# --- list ------------------------------------------------------------------------------------


def test_the_list_shows_name_prefix_access_and_expiry(client, owner, account):
    expires_at = timezone.now() + timedelta(days=30)
    read_only = token_create(account=account, name="Reporting", read_only=True, expires_at=expires_at)
    forever = token_create(account=account, name="Production", created_by=owner)
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    reporting = token_row(response, "Reporting")
    assert f"{read_only.token.prefix}…" in reporting
    assert "Read-only" in reporting
    assert expires_at.strftime("%Y-%m-%d %H:%M") in reporting
    assert "Active" in reporting
    production = token_row(response, "Production")
    assert f"{forever.token.prefix}…" in production
    assert "Read &amp; write" in production
    assert "by alice" in production
    assert re.search(r"<td>never</td>\s*<td>never</td>", production)  # never used, never expires
    assert f'action="/settings/tokens/{forever.token.pk}/revoke/"' in production


def test_the_list_never_shows_a_plaintext_or_a_digest(client, owner, issued):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert issued.plaintext not in body
    assert issued.token.digest not in body
    assert issued.token.prefix in body


def test_a_teammate_sees_the_accounts_tokens(client, teammate, issued):
    client.force_login(teammate)

    response = client.get(URL)

    assert response.status_code == 200
    assert "Production" in token_row(response, "Production")


def test_another_accounts_tokens_are_not_listed(client, outsider, issued):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 200
    assert 'data-token="Production"' not in html(response)
    assert issued.token.prefix not in html(response)
    assert list(response.context["tokens"]) == []


def test_expired_and_revoked_tokens_are_marked(client, owner, account):
    token_create(account=account, name="Old", expires_at=timezone.now() - timedelta(days=1))
    revoked = token_create(account=account, name="Leaked").token
    revoked.revoked_at = timezone.now()
    revoked.save()
    client.force_login(owner)

    response = client.get(URL)

    assert "Expired" in token_row(response, "Old")
    leaked = token_row(response, "Leaked")
    assert "Revoked" in leaked
    assert "/revoke/" not in leaked


# Session, the user with their account, tokens with their creators = 3.
TOKEN_LIST_QUERIES = 3


@pytest.mark.parametrize("tokens", [1, 60])
def test_the_list_runs_the_same_number_of_queries_whatever_the_rows(
    client, owner, account, tokens, django_assert_num_queries
):
    for i in range(tokens):
        token_create(account=account, name=f"Token {i}", created_by=owner)
    client.force_login(owner)

    with django_assert_num_queries(TOKEN_LIST_QUERIES):
        response = client.get(URL)

    assert response.status_code == 200
    assert html(response).count("<tr data-token=") == tokens


# --- create ----------------------------------------------------------------------------------


def test_creating_shows_the_plaintext_exactly_once(client, owner, account):
    client.force_login(owner)

    response = client.post(URL, {"name": "CI", "expires_in_days": ""})

    assert response.status_code == 200
    plaintext = new_token_plaintext(response)
    body = html(response)
    assert body.count(plaintext) == 1
    assert '<li class="msg-success">Token CI created. Copy it now: it is shown only once.</li>' in body
    token = ApiToken.objects.get(name="CI")
    assert token.account == account
    assert token.created_by == owner
    assert token.digest == hash_token(plaintext)
    assert token.prefix == plaintext[:12]
    assert (token.read_only, token.expires_at, token.revoked_at) == (False, None, None)
    assert api_status(plaintext) == 200


def test_the_plaintext_is_gone_on_the_next_visit_and_only_the_prefix_is_listed(client, owner):
    client.force_login(owner)
    plaintext = new_token_plaintext(client.post(URL, {"name": "CI"}))

    response = client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert plaintext not in body
    assert 'id="new-token"' not in body
    assert f"{plaintext[:12]}…" in token_row(response, "CI")


def test_a_read_only_token_with_an_expiry_is_created(client, teammate, account):
    client.force_login(teammate)

    response = client.post(URL, {"name": "Reporting", "read_only": "on", "expires_in_days": "30"})

    assert response.status_code == 200
    token = ApiToken.objects.get(name="Reporting")
    assert token.read_only is True
    assert token.created_by == teammate
    expected = timezone.now() + timedelta(days=30)
    assert abs((token.expires_at - expected).total_seconds()) < 60
    assert "Read-only" in token_row(response, "Reporting")


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "Ensure this value has at most 100 characters (it has 101)."),
        ({"name": "CI", "expires_in_days": "0"}, "expires_in_days", "Ensure this value is greater than or equal to 1."),
        ({"name": "CI", "expires_in_days": "abc"}, "expires_in_days", "Enter a whole number."),
        (
            {"name": "CI", "expires_in_days": "3651"},
            "expires_in_days",
            "Ensure this value is less than or equal to 3650.",
        ),
    ],
)
def test_invalid_input_is_an_error_next_to_its_field_and_creates_nothing(client, owner, data, field, message):
    client.force_login(owner)

    response = client.post(URL, data)

    assert response.status_code == 200
    assert field_errors(response, field) == [message]
    assert 'id="new-token"' not in html(response)
    assert not ApiToken.objects.exists()


# --- revoke ----------------------------------------------------------------------------------


def test_revoking_stops_the_token_and_says_so(client, owner, issued):
    assert api_status(issued.plaintext) == 200
    client.force_login(owner)

    response = client.post(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == URL
    assert flashes(response) == ["Token Production revoked."]
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert api_status(issued.plaintext) == 401


def test_a_teammate_can_revoke_the_accounts_token(client, teammate, issued):
    client.force_login(teammate)

    response = client.post(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 302
    assert api_status(issued.plaintext) == 401


def test_revoking_twice_keeps_the_first_time(client, owner, issued):
    client.force_login(owner)
    client.post(f"{URL}{issued.token.pk}/revoke/")
    issued.token.refresh_from_db()
    first = issued.token.revoked_at

    response = client.post(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at == first


def test_revoking_with_get_is_not_allowed_and_changes_nothing(client, owner, issued):
    client.force_login(owner)

    response = client.get(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 405
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    assert api_status(issued.plaintext) == 200


def test_the_outsider_cannot_revoke_another_accounts_token(client, outsider, issued):
    client.force_login(outsider)

    response = client.post(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 404
    assert flashes(response) == []
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    assert api_status(issued.plaintext) == 200


# --- anonymous, CSRF -------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, issued):
    assert_login_redirect(client.get(URL), URL)
    assert_login_redirect(client.post(URL, {"name": "Sneaky"}), URL)
    assert_login_redirect(client.post(f"{URL}{issued.token.pk}/revoke/"), f"{URL}{issued.token.pk}/revoke/")
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["Production"]
    assert api_status(issued.plaintext) == 200


def test_creating_without_the_csrf_token_is_refused(owner):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(URL, {"name": "CI"})

    assert response.status_code == 403
    assert "klm_" not in html(response)
    assert not ApiToken.objects.exists()


def test_revoking_without_the_csrf_token_is_refused(owner, issued):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(f"{URL}{issued.token.pk}/revoke/")

    assert response.status_code == 403
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_creating_with_the_pages_own_csrf_token_works(owner):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    page = csrf_client.get(URL)
    form = re.search(r'<h2>Create a token</h2>\s*<form method="post" novalidate>(.*?)</form>', html(page), re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))

    response = csrf_client.post(URL, {**fields, "name": "CI"})

    assert response.status_code == 200
    assert ApiToken.objects.get(name="CI").digest == hash_token(new_token_plaintext(response))
