"""DELETE /api/v1/trunks/{id} — API.md §5 (Delete: 204; the numbers stay, unassigned), §1."""

from numbers_app.models import PhoneNumber, SipTrunk

URL = "/api/v1/trunks"


def test_it_deletes_the_trunk(api, account, make_trunk):
    trunk = make_trunk(account)

    response = api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert not SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_it_accepts_a_trailing_slash(api, account, make_trunk):
    trunk = make_trunk(account)

    response = api.delete(f"{URL}/{trunk.id}/")

    assert response.status_code == 204
    assert not SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_its_numbers_stay_unassigned(api, account, make_trunk, make_number, make_voice_agent):
    trunk = make_trunk(account)
    other_trunk = make_trunk(account)
    agent = make_voice_agent(account)
    first = make_number(account, trunk=trunk, voice_agent=agent)
    second = make_number(account, trunk=trunk)
    elsewhere = make_number(account, trunk=other_trunk)
    before = PhoneNumber.objects.get(pk=first.pk).updated_at

    response = api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 204
    assert set(PhoneNumber.objects.filter(pk__in=[first.pk, second.pk]).values_list("trunk_id", flat=True)) == {None}
    first.refresh_from_db()
    assert first.voice_agent_id == agent.id  # only the trunk is unassigned
    assert first.updated_at >= before
    assert PhoneNumber.objects.get(pk=elsewhere.pk).trunk_id == other_trunk.id
    assert PhoneNumber.objects.count() == 3

    shown = api.get(f"/api/v1/numbers/{first.id}").json()
    assert (shown["trunk_id"], shown["trunk_name"]) == (None, None)
    assert shown["voice_agent_id"] == agent.id


def test_deleting_twice_is_a_404(api, account, make_trunk):
    trunk = make_trunk(account)
    api.delete(f"{URL}/{trunk.id}")

    response = api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_rejects_a_foreign_trunk(outsider_api, account, make_trunk, make_number):
    trunk = make_trunk(account)
    number = make_number(account, trunk=trunk)

    response = outsider_api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "The requested resource was not found."}}
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()
    assert PhoneNumber.objects.get(pk=number.pk).trunk_id == trunk.id


def test_a_read_only_token_cannot_delete(read_only_api, account, make_trunk, make_number):
    trunk = make_trunk(account)
    number = make_number(account, trunk=trunk)

    response = read_only_api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()
    assert PhoneNumber.objects.get(pk=number.pk).trunk_id == trunk.id


def test_the_teammates_token_can_delete(teammate_api, account, make_trunk):
    trunk = make_trunk(account)

    response = teammate_api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 204
    assert not SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_an_anonymous_request_cannot_delete(anonymous_api, account, make_trunk):
    trunk = make_trunk(account)

    response = anonymous_api.delete(f"{URL}/{trunk.id}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_deleting_the_collection_is_not_allowed(api, account, make_trunk):
    trunk = make_trunk(account)

    response = api.delete(URL)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "Allow" in response
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()
