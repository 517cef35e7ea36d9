"""PUT/PATCH /api/v1/trunks/{id} — API.md §5 (partial Update; the conditional rules hold for
the resulting trunk), §1, §2."""

import json

import pytest
from django.forms.models import model_to_dict

from numbers_app.models import SipTrunk
from tests.audit import TEST_ACTOR
from tests.contract import TRUNK_KEYS
from tests.helpers import assert_validation_error

URL = "/api/v1/trunks"


METHODS = pytest.mark.parametrize("method", ["put", "patch"])


def send(client, method: str, trunk_id: int, body, **kwargs):
    return getattr(client, method)(f"{URL}/{trunk_id}", body, format="json", **kwargs)


def snapshot(trunk: SipTrunk) -> dict:
    """Every stored column, as read back from the database."""
    fresh = SipTrunk.objects.get(pk=trunk.pk)
    return {**model_to_dict(fresh), "registered": fresh.registered, "updated_at": fresh.updated_at}


@pytest.fixture
def trunk(account, make_trunk):
    """An inbound IP trunk, the most constrained starting point."""
    return make_trunk(account, "Office PBX", host="10.0.0.1", port=5060, username="office")


@METHODS
def test_it_changes_only_the_fields_sent(api, trunk, method):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"name": "Renamed PBX"})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == TRUNK_KEYS
    assert body["id"] == trunk.id
    assert body["name"] == "Renamed PBX"
    assert (body["direction"], body["auth_type"], body["host"], body["port"], body["username"]) == (
        "inbound",
        "ip",
        "10.0.0.1",
        5060,
        "office",
    )
    assert body["sip_uri"] == "sip:10.0.0.1@kalem.me"
    after = snapshot(trunk)
    assert after["name"] == "Renamed PBX"
    assert {k: v for k, v in after.items() if k not in ("name", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("name", "updated_at")
    }
    assert after["updated_at"] >= before["updated_at"]


@METHODS
def test_it_accepts_a_trailing_slash(api, trunk, method):
    response = getattr(api, method)(f"{URL}/{trunk.id}/", {"port": 5080}, format="json")

    assert response.status_code == 200
    assert response.json()["port"] == 5080
    assert SipTrunk.objects.get(pk=trunk.pk).port == 5080


@METHODS
def test_an_empty_body_changes_nothing(api, trunk, method):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {})

    assert response.status_code == 200
    assert response.json()["name"] == "Office PBX"
    after = snapshot(trunk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_a_client_may_put_back_the_object_it_fetched(api, trunk):
    fetched = api.get(f"{URL}/{trunk.id}").json()
    before = snapshot(trunk)

    response = api.put(f"{URL}/{trunk.id}", fetched, format="json")

    assert response.status_code == 200
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == {
        k: v for k, v in fetched.items() if k != "updated_at"
    }
    after = snapshot(trunk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


@METHODS
def test_switching_to_digest_without_credentials_is_refused(api, account, make_trunk, method):
    trunk = make_trunk(account, host="10.0.0.1", username="", password="")
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"auth_type": "digest"})

    assert_validation_error(response, "username", "password")
    assert snapshot(trunk) == before


@METHODS
def test_switching_to_digest_needs_the_password_too(api, trunk, method):
    # The fixture's trunk already has a username; the password is what is missing.
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"auth_type": "digest"})

    assert_validation_error(response, "password")
    assert snapshot(trunk) == before


@METHODS
def test_switching_to_digest_with_credentials_works(api, trunk, method):
    response = send(api, method, trunk.id, {"auth_type": "digest", "username": "kalem", "password": "n3w-pass"})

    assert response.status_code == 200
    body = response.json()
    assert (body["auth_type"], body["username"]) == ("digest", "kalem")
    assert "password" not in body
    assert b"n3w-pass" not in response.content
    stored = SipTrunk.objects.get(pk=trunk.pk)
    assert (stored.auth_type, stored.username, stored.sip_password()) == ("digest", "kalem", "n3w-pass")


@METHODS
def test_clearing_the_credentials_of_a_digest_trunk_is_refused(api, account, make_trunk, method):
    trunk = make_trunk(account, auth_type="digest", username="user", password="secret")
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"username": None, "password": ""})

    assert_validation_error(response, "username", "password")
    assert snapshot(trunk) == before


@METHODS
def test_a_new_password_is_stored_but_never_returned(api, account, make_trunk, method):
    trunk = make_trunk(account, auth_type="digest", username="user", password="old-secret")

    response = send(api, method, trunk.id, {"password": "brand-new-secret"})

    assert response.status_code == 200
    assert "password" not in response.json()
    assert b"brand-new-secret" not in response.content
    assert b"old-secret" not in response.content
    assert SipTrunk.objects.get(pk=trunk.pk).sip_password() == "brand-new-secret"


@METHODS
def test_a_digest_trunk_keeps_its_password_when_none_is_sent(api, account, make_trunk, method):
    trunk = make_trunk(account, auth_type="digest", username="user", password="kept-secret")

    response = send(api, method, trunk.id, {"username": "renamed-user"})

    assert response.status_code == 200
    assert response.json()["username"] == "renamed-user"
    stored = SipTrunk.objects.get(pk=trunk.pk)
    assert (stored.username, stored.sip_password()) == ("renamed-user", "kept-secret")


@METHODS
def test_switching_to_outbound_without_a_server_is_refused(api, trunk, method):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"direction": "outbound"})

    assert_validation_error(response, "outbound_server")
    assert snapshot(trunk) == before


@METHODS
def test_switching_to_outbound_with_a_server_works(api, trunk, method):
    response = send(api, method, trunk.id, {"direction": "outbound", "outbound_server": "[2001:db8::1]:5060"})

    assert response.status_code == 200
    assert (response.json()["direction"], response.json()["outbound_server"]) == ("outbound", "[2001:db8::1]:5060")
    stored = SipTrunk.objects.get(pk=trunk.pk)
    assert (stored.direction, stored.outbound_server) == ("outbound", "[2001:db8::1]:5060")


@METHODS
@pytest.mark.parametrize("value", [None, ""])
def test_clearing_the_server_of_an_outbound_trunk_is_refused(api, account, make_trunk, method, value):
    trunk = make_trunk(account, direction="outbound", outbound_server="sip.carrier.example")
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"outbound_server": value})

    assert_validation_error(response, "outbound_server")
    assert snapshot(trunk) == before


@METHODS
@pytest.mark.parametrize("value", [None, "", "  "])
def test_clearing_the_host_of_an_inbound_ip_trunk_is_refused(api, trunk, method, value):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"host": value})

    assert_validation_error(response, "host")
    assert snapshot(trunk) == before


@METHODS
def test_clearing_the_host_of_an_outbound_trunk_is_allowed_and_drops_the_sip_uri(api, account, make_trunk, method):
    trunk = make_trunk(account, direction="outbound", host="10.0.0.9", outbound_server="sip.carrier.example")

    response = send(api, method, trunk.id, {"host": None})

    assert response.status_code == 200
    assert (response.json()["host"], response.json()["sip_uri"]) == (None, None)
    assert SipTrunk.objects.get(pk=trunk.pk).host == ""


@METHODS
def test_switching_to_inbound_ip_needs_a_host(api, account, make_trunk, method):
    trunk = make_trunk(account, direction="outbound", host="", outbound_server="sip.carrier.example")
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"direction": "inbound"})

    assert_validation_error(response, "host")
    assert snapshot(trunk) == before


@METHODS
def test_changing_the_host_changes_the_sip_uri(api, trunk, method):
    response = send(api, method, trunk.id, {"host": "pbx.customer.example"})

    assert response.status_code == 200
    assert response.json()["host"] == "pbx.customer.example"
    assert response.json()["sip_uri"] == "sip:pbx.customer.example@kalem.me"
    assert SipTrunk.objects.get(pk=trunk.pk).host == "pbx.customer.example"


@METHODS
def test_it_accepts_an_ipv6_host(api, trunk, method):
    response = send(api, method, trunk.id, {"host": "2001:db8::7"})

    assert response.status_code == 200
    assert response.json()["host"] == "2001:db8::7"
    assert SipTrunk.objects.get(pk=trunk.pk).host == "2001:db8::7"


@METHODS
@pytest.mark.parametrize("field", ["direction", "auth_type"])
def test_a_lone_surrogate_in_a_choice_is_a_422_not_a_500(api, trunk, method, field):
    before = snapshot(trunk)

    response = getattr(api, method)(f"{URL}/{trunk.id}", json.dumps({field: "\ud800"}), content_type="application/json")

    assert_validation_error(response, field)
    assert snapshot(trunk) == before


@METHODS
@pytest.mark.parametrize(
    "field, value",
    [
        ("port", 0),
        ("port", 65536),
        ("port", "abc"),
        ("port", True),
        ("port", None),
        ("host", "bad host"),
        ("outbound_server", "host:99999"),
        ("outbound_server", "bad host"),
        ("direction", "sideways"),
        ("auth_type", "oauth"),
        ("name", ""),
        ("name", "   "),
        ("name", None),
    ],
)
def test_it_rejects_invalid_values(api, trunk, method, field, value):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {field: value})

    assert_validation_error(response, field)
    assert snapshot(trunk) == before


@METHODS
def test_registered_cannot_be_changed(api, trunk, method):
    SipTrunk.objects.filter(pk=trunk.pk).update(registered=True)

    response = send(api, method, trunk.id, {"registered": False, "name": "Still registered"})

    assert response.status_code == 200
    assert response.json()["registered"] is True
    stored = SipTrunk.objects.get(pk=trunk.pk)
    assert (stored.registered, stored.name) == (True, "Still registered")


@METHODS
def test_sending_registered_alone_changes_nothing(api, trunk, method):
    before = snapshot(trunk)

    response = send(api, method, trunk.id, {"registered": True})

    assert response.status_code == 200
    assert response.json()["registered"] is False
    assert snapshot(trunk)["registered"] is False
    assert {k: v for k, v in snapshot(trunk).items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


@METHODS
def test_read_only_keys_are_ignored(api, account, other_account, trunk, method):
    response = send(
        api,
        method,
        trunk.id,
        {"id": trunk.id + 1000, "sip_uri": "sip:x@elsewhere.example", "account": other_account.id, "port": 5062},
    )

    assert response.status_code == 200
    assert response.json()["id"] == trunk.id
    assert response.json()["sip_uri"] == "sip:10.0.0.1@kalem.me"
    stored = SipTrunk.objects.get(pk=trunk.pk)
    assert (stored.account, stored.port) == (account, 5062)


@METHODS
def test_the_teammates_token_can_update(teammate_api, trunk, method):
    response = send(teammate_api, method, trunk.id, {"name": "By Bob"})

    assert response.status_code == 200
    assert SipTrunk.objects.get(pk=trunk.pk).name == "By Bob"


@METHODS
def test_it_rejects_a_foreign_trunk(outsider_api, trunk, method):
    before = snapshot(trunk)

    response = send(outsider_api, method, trunk.id, {"name": "Hijacked"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(trunk) == before


@METHODS
def test_an_outsider_gets_404_even_with_an_invalid_body(outsider_api, trunk, method):
    response = send(outsider_api, method, trunk.id, {"port": 0})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@METHODS
def test_a_read_only_token_cannot_update(read_only_api, trunk, method):
    before = snapshot(trunk)

    response = send(read_only_api, method, trunk.id, {"name": "Read-only rename"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert snapshot(trunk) == before


@METHODS
def test_a_missing_trunk_is_a_404(api, account, make_trunk, method):
    gone = make_trunk(account)
    gone_id = gone.id
    gone.delete()

    response = send(api, method, gone_id, {"name": "Ghost"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not SipTrunk.objects.filter(pk=gone_id).exists()


def test_two_edits_of_different_fields_both_stay(account, make_trunk):
    from numbers_app.services import trunk_update

    trunk = make_trunk(account, name="Edge", port=5060)
    first, second = SipTrunk.objects.get(pk=trunk.pk), SipTrunk.objects.get(pk=trunk.pk)
    trunk_update(actor=TEST_ACTOR, trunk=first, name="Edge EU")
    trunk_update(actor=TEST_ACTOR, trunk=second, port=5070)  # loaded before the rename: must not undo it
    trunk.refresh_from_db()
    assert (trunk.name, trunk.port) == ("Edge EU", 5070)


def test_updating_a_deleted_trunk_does_not_bring_it_back(account, make_trunk):
    import pytest as _pytest

    from numbers_app.services import trunk_update

    trunk = make_trunk(account)
    SipTrunk.objects.filter(pk=trunk.pk).delete()
    with _pytest.raises(SipTrunk.DoesNotExist):
        trunk_update(actor=TEST_ACTOR, trunk=trunk, name="Ghost")
    assert not SipTrunk.objects.filter(pk=trunk.pk).exists()
