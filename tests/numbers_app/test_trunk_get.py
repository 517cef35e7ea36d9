"""GET /api/v1/trunks/{id} — API.md §5 (The Trunk object, Get), §1."""

import pytest

from numbers_app.models import SipTrunk
from tests.contract import TRUNK_KEYS, iso

URL = "/api/v1/trunks"


def assert_not_found(response) -> None:
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "The requested resource was not found."}}


def test_it_returns_the_trunk_object(api, account, make_trunk):
    trunk = make_trunk(account, "Main Inbound Trunk", host="10.0.0.1", port=5070, username="kalem_trunk")

    response = api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == TRUNK_KEYS
    assert body == {
        "id": trunk.id,
        "name": "Main Inbound Trunk",
        "direction": "inbound",
        "auth_type": "ip",
        "sip_uri": "sip:10.0.0.1@kalem.me",
        "host": "10.0.0.1",
        "port": 5070,
        "username": "kalem_trunk",
        "outbound_server": None,
        "registered": False,
        "created_at": iso(trunk.created_at),
        "updated_at": iso(trunk.updated_at),
    }


def test_it_accepts_a_trailing_slash(api, account, make_trunk):
    trunk = make_trunk(account)

    response = api.get(f"{URL}/{trunk.id}/")

    assert response.status_code == 200
    assert response.json()["id"] == trunk.id


def test_it_never_returns_the_password(api, account, make_trunk):
    trunk = make_trunk(
        account,
        direction="outbound",
        auth_type="digest",
        host="",
        username="kalem_out",
        password="very-secret-pw",
        outbound_server="[2001:db8::1]:5060",
    )

    response = api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    body = response.json()
    assert "password" not in body
    assert b"very-secret-pw" not in response.content
    assert (body["username"], body["outbound_server"]) == ("kalem_out", "[2001:db8::1]:5060")
    trunk.refresh_from_db()
    assert trunk.sip_password() == "very-secret-pw"


def test_blank_optional_strings_are_null_and_so_is_the_sip_uri_without_a_host(api, account, make_trunk):
    trunk = make_trunk(
        account, direction="outbound", auth_type="ip", host="", username="", outbound_server="sip.carrier.example"
    )

    response = api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["host"], body["username"], body["sip_uri"]) == (None, None, None)
    assert body["outbound_server"] == "sip.carrier.example"


def test_the_sip_uri_follows_the_sip_domain_setting(api, account, make_trunk, settings):
    settings.SIP_DOMAIN = "voice.example.org"
    trunk = make_trunk(account, host="pbx.customer.example")

    response = api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    assert response.json()["sip_uri"] == "sip:pbx.customer.example@voice.example.org"


def test_it_shows_the_registered_state(api, account, make_trunk):
    trunk = make_trunk(account)
    SipTrunk.objects.filter(pk=trunk.pk).update(registered=True)

    response = api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    assert response.json()["registered"] is True


@pytest.mark.parametrize("client", ["teammate_api", "read_only_api"])
def test_every_token_of_the_account_can_read_it(request, client, account, make_trunk):
    trunk = make_trunk(account)

    response = request.getfixturevalue(client).get(f"{URL}/{trunk.id}")

    assert response.status_code == 200
    assert response.json()["id"] == trunk.id


def test_it_rejects_a_foreign_trunk(outsider_api, account, make_trunk):
    trunk = make_trunk(account, "Private")

    response = outsider_api.get(f"{URL}/{trunk.id}")

    assert_not_found(response)
    assert b"Private" not in response.content


def test_a_foreign_trunk_looks_like_a_missing_one(api, outsider_api, account, other_account, make_trunk):
    foreign = make_trunk(other_account)
    missing = make_trunk(account)
    missing_id = missing.id
    missing.delete()

    foreign_response = api.get(f"{URL}/{foreign.id}")
    missing_response = api.get(f"{URL}/{missing_id}")

    assert_not_found(foreign_response)
    assert_not_found(missing_response)
    assert foreign_response.content == missing_response.content


@pytest.mark.parametrize("trunk_id", ["0", "abc", "99999999999999999999999", "-1"])
def test_an_id_that_cannot_exist_is_a_404(api, trunk_id):
    response = api.get(f"{URL}/{trunk_id}")

    assert_not_found(response)


def test_an_anonymous_request_is_refused(anonymous_api, account, make_trunk):
    trunk = make_trunk(account)

    response = anonymous_api.get(f"{URL}/{trunk.id}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
