"""Bearer tokens on the API: who gets in, who gets 401 or 403, and what each token sees."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.models import ApiToken
from kalem_site.accounts.services import token_create, token_revoke
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import assert_error, next_e164

pytestmark = pytest.mark.django_db


def client_with_header(value: str | None) -> APIClient:
    client = APIClient()
    if value is not None:
        client.credentials(HTTP_AUTHORIZATION=value)
    return client


def assert_unauthenticated(response) -> None:
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer"), response.headers


# --- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_request_without_an_authorization_header_is_401(anonymous_api, method):
    response = getattr(anonymous_api, method)("/api/v1/numbers", {"number": next_e164()}, format="json")
    assert_unauthenticated(response)
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "Token x",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Basic dXNlcjpwYXNzd29yZA==",
        "x",
        "",
    ],
)
def test_a_malformed_authorization_header_is_401(account, header):
    token_create(account=account, name="Exists")  # a real token exists; the header still fails
    response = client_with_header(header).get("/api/v1/numbers")
    assert_unauthenticated(response)


def test_the_real_token_under_another_scheme_is_401(account):
    issued = token_create(account=account, name="Right token, wrong scheme")
    response = client_with_header(f"Token {issued.plaintext}").get("/api/v1/numbers")
    assert_unauthenticated(response)


def test_the_real_token_with_trailing_garbage_is_401(account):
    issued = token_create(account=account, name="Garbage after the token")
    response = client_with_header(f"Bearer {issued.plaintext} extra").get("/api/v1/numbers")
    assert_unauthenticated(response)


@pytest.mark.parametrize("plaintext", ["klm_doesnotexist", "x" * 5000, "klm_\u00fc\u00e9"])
def test_an_unknown_token_is_401(account, plaintext):
    token_create(account=account, name="Exists")
    response = client_with_header(f"Bearer {plaintext}").get("/api/v1/numbers")
    assert_unauthenticated(response)


def test_an_expired_token_is_401(account, make_number):
    make_number(account)
    issued = token_create(account=account, name="Old", expires_at=timezone.now() - timedelta(seconds=1))
    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert_unauthenticated(response)
    assert "data" not in response.json()


def test_a_token_that_expires_later_works(account, make_number):
    number = make_number(account)
    issued = token_create(account=account, name="Fresh", expires_at=timezone.now() + timedelta(hours=1))
    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["data"]] == [number.id]


def test_a_revoked_token_is_401_and_is_not_marked_as_used(account):
    issued = token_create(account=account, name="Revoked")
    token_revoke(token=issued.token)
    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert_unauthenticated(response)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is None


def test_a_revoked_token_cannot_write(account):
    issued = token_create(account=account, name="Revoked writer")
    token_revoke(token=issued.token)
    response = client_with_header(f"Bearer {issued.plaintext}").post(
        "/api/v1/numbers", {"number": next_e164()}, format="json"
    )
    assert_unauthenticated(response)
    assert not PhoneNumber.objects.exists()


# The get and the lookup read the number together with the token (one query): the same
# answers as every other route.
def one_number_routes(number) -> list[str]:
    return [f"/api/v1/numbers/{number.id}", f"/api/v1/numbers/lookup?number={number.number.replace('+', '%2B')}"]


@pytest.mark.parametrize("route", [0, 1])
@pytest.mark.parametrize("how", ["revoked", "expired", "unknown"])
def test_a_token_that_is_not_usable_gets_401_for_its_own_accounts_number(account, make_number, route, how):
    number = make_number(account)
    issued = token_create(
        account=account,
        name="Not usable",
        expires_at=timezone.now() - timedelta(seconds=1) if how == "expired" else None,
    )
    if how == "revoked":
        token_revoke(token=issued.token)
    plaintext = "klm_" + "x" * 43 if how == "unknown" else issued.plaintext
    response = client_with_header(f"Bearer {plaintext}").get(one_number_routes(number)[route])
    assert_unauthenticated(response)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is None


@pytest.mark.parametrize("route", [0, 1])
def test_a_token_gets_its_accounts_number_and_is_marked_as_used(account, make_number, route):
    number = make_number(account)
    issued = token_create(account=account, name="Reader")
    response = client_with_header(f"Bearer {issued.plaintext}").get(one_number_routes(number)[route])
    assert response.status_code == 200
    assert response.json()["id"] == number.id
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is not None


@pytest.mark.parametrize("route", [0, 1])
def test_another_accounts_token_gets_404_for_the_number(account, other_account, make_number, route):
    number = make_number(account)
    issued = token_create(account=other_account, name="Outsider")
    response = client_with_header(f"Bearer {issued.plaintext}").get(one_number_routes(number)[route])
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("value", ["", "5551234", "+" + "1" * 40, "+1555\x00"])
def test_a_lookup_of_an_invalid_number_is_401_without_a_usable_token_and_422_with_one(account, value):
    issued = token_create(account=account, name="Reader")
    token_revoke(token=issued.token)
    path = "/api/v1/numbers/lookup"
    assert_unauthenticated(client_with_header(f"Bearer {issued.plaintext}").get(path, {"number": value}))
    fresh = token_create(account=account, name="Fresh")
    assert_error(client_with_header(f"Bearer {fresh.plaintext}").get(path, {"number": value}), 422, "validation_error")


# --- valid tokens --------------------------------------------------------------------------


def test_a_valid_token_lists_its_accounts_numbers(account, make_number):
    number = make_number(account)
    issued = token_create(account=account, name="Valid")
    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    assert [row["number"] for row in response.json()["data"]] == [number.number]


def test_the_scheme_is_case_insensitive(account):
    issued = token_create(account=account, name="Lowercase scheme")
    response = client_with_header(f"bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_a_valid_token_creates_in_its_account(account):
    issued = token_create(account=account, name="Writer")
    e164 = next_e164()
    response = client_with_header(f"Bearer {issued.plaintext}").post("/api/v1/numbers", {"number": e164}, format="json")
    assert response.status_code == 201
    assert response.json()["number"] == e164
    assert PhoneNumber.objects.get(number=e164).account_id == account.id


# --- last_used_at --------------------------------------------------------------------------


def test_last_used_at_is_set_when_the_token_is_used(account):
    issued = token_create(account=account, name="Used")
    assert issued.token.last_used_at is None
    before = timezone.now()
    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    issued.token.refresh_from_db()
    assert before <= issued.token.last_used_at <= timezone.now()


def _token_updates(queries) -> list[str]:
    table = ApiToken._meta.db_table
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE") and table in q["sql"]]


def test_last_used_at_is_not_written_again_within_the_resolution(account, settings):
    settings.TOKEN_LAST_USED_RESOLUTION_SECONDS = 60
    issued = token_create(account=account, name="Busy")
    client = client_with_header(f"Bearer {issued.plaintext}")
    assert client.get("/api/v1/numbers").status_code == 200
    issued.token.refresh_from_db()
    first_use = issued.token.last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/numbers")
    assert response.status_code == 200
    assert _token_updates(queries.captured_queries) == []
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == first_use


def test_last_used_at_is_written_again_once_the_resolution_has_passed(account, settings):
    settings.TOKEN_LAST_USED_RESOLUTION_SECONDS = 60
    issued = token_create(account=account, name="Returning")
    long_ago = timezone.now() - timedelta(seconds=61)
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=long_ago)

    with CaptureQueriesContext(connection) as queries:
        response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    assert len(_token_updates(queries.captured_queries)) == 1
    issued.token.refresh_from_db()
    assert issued.token.last_used_at > long_ago + timedelta(seconds=60)


def test_the_resolution_comes_from_the_setting(account, settings):
    settings.TOKEN_LAST_USED_RESOLUTION_SECONDS = 3600
    issued = token_create(account=account, name="Hourly")
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=two_minutes_ago)

    response = client_with_header(f"Bearer {issued.plaintext}").get("/api/v1/numbers")
    assert response.status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == two_minutes_ago


# --- read-only tokens ----------------------------------------------------------------------

# resource → (model, body of a valid create, body of a valid change)
RESOURCES = {
    "numbers": (PhoneNumber, lambda: {"number": next_e164()}, {"status": "inactive"}),
    "trunks": (
        SipTrunk,
        lambda: {"name": "New trunk", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.9"},
        {"name": "Renamed trunk"},
    ),
    "voice-agents": (VoiceAgent, lambda: {"name": "New voice agent"}, {"name": "Renamed voice agent"}),
    "text-agents": (TextAgent, lambda: {"name": "New text agent"}, {"name": "Renamed text agent"}),
}


@pytest.fixture
def one_of_each(account, make_number, make_trunk, make_voice_agent, make_text_agent):
    return {
        "numbers": make_number(account, status="active"),
        "trunks": make_trunk(account),
        "voice-agents": make_voice_agent(account),
        "text-agents": make_text_agent(account),
    }


def snapshot(account) -> dict:
    return {
        model.__name__: sorted(model.objects.filter(account=account).values(), key=lambda row: row["id"])
        for model, _, _ in RESOURCES.values()
    }


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_read_only_token_reads(read_only_api, one_of_each, resource):
    obj = one_of_each[resource]
    listing = read_only_api.get(f"/api/v1/{resource}")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["data"]] == [obj.id]
    detail = read_only_api.get(f"/api/v1/{resource}/{obj.id}")
    assert detail.status_code == 200
    assert detail.json()["id"] == obj.id


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_only_token_cannot_write(read_only_api, account, one_of_each, resource, method):
    _, create_body, change_body = RESOURCES[resource]
    before = snapshot(account)
    if method == "post":
        response = read_only_api.post(f"/api/v1/{resource}", create_body(), format="json")
    else:
        url = f"/api/v1/{resource}/{one_of_each[resource].id}"
        response = getattr(read_only_api, method)(url, change_body, format="json")
    assert_error(response, 403, "forbidden")
    assert snapshot(account) == before


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_a_read_only_token_cannot_change_a_numbers_status(read_only_api, account, one_of_each, action):
    number = one_of_each["numbers"]
    if action == "activate":
        PhoneNumber.objects.filter(pk=number.pk).update(status="inactive")
    before = snapshot(account)
    response = read_only_api.post(f"/api/v1/numbers/{action}", {"number": number.number}, format="json")
    assert_error(response, 403, "forbidden")
    assert snapshot(account) == before


def test_a_read_only_token_gets_403_even_for_an_object_that_does_not_exist(read_only_api, one_of_each):
    response = read_only_api.delete(f"/api/v1/numbers/{one_of_each['numbers'].id + 1000}")
    assert_error(response, 403, "forbidden")


# --- whose data a token sees ---------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_teammates_token_sees_the_accounts_data(teammate_api, one_of_each, resource):
    obj = one_of_each[resource]
    listing = teammate_api.get(f"/api/v1/{resource}")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["data"]] == [obj.id]
    assert teammate_api.get(f"/api/v1/{resource}/{obj.id}").json()["id"] == obj.id


def test_a_teammates_token_sees_what_the_owners_token_created(api, teammate_api):
    created = api.post("/api/v1/numbers", {"number": next_e164()}, format="json")
    assert created.status_code == 201
    response = teammate_api.get(f"/api/v1/numbers/{created.json()['id']}")
    assert response.status_code == 200
    assert response.json() == created.json()


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_outsiders_token_sees_none_of_the_accounts_data(outsider_api, account, one_of_each, resource):
    obj = one_of_each[resource]
    _, _, change_body = RESOURCES[resource]
    before = snapshot(account)

    listing = outsider_api.get(f"/api/v1/{resource}")
    assert listing.status_code == 200
    assert listing.json()["data"] == []
    assert listing.json()["meta"]["total"] == 0
    assert_error(outsider_api.get(f"/api/v1/{resource}/{obj.id}"), 404, "not_found")
    assert_error(outsider_api.put(f"/api/v1/{resource}/{obj.id}", change_body, format="json"), 404, "not_found")
    assert_error(outsider_api.patch(f"/api/v1/{resource}/{obj.id}", change_body, format="json"), 404, "not_found")
    assert_error(outsider_api.delete(f"/api/v1/{resource}/{obj.id}"), 404, "not_found")
    assert snapshot(account) == before


def test_an_outsiders_token_cannot_deactivate_the_accounts_number(outsider_api, account, one_of_each):
    number = one_of_each["numbers"]
    response = outsider_api.post("/api/v1/numbers/deactivate", {"number": number.number}, format="json")
    assert_error(response, 404, "not_found")
    number.refresh_from_db()
    assert number.status == "active"
