"""DELETE /api/v1/numbers/{id}"""

import pytest

from agents_app.models import VoiceAgent
from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber, SipTrunk
from tests.audit import TEST_ACTOR
from tests.contract import number_url
from tests.helpers import assert_error


def test_it_deletes_the_number_with_204_and_an_empty_body(api, account, make_number):
    number = make_number(account)
    kept = make_number(account)

    response = api.delete(number_url(number.id))

    assert response.status_code == 204
    assert response.content == b""
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    assert PhoneNumber.objects.filter(pk=kept.pk).exists()


def test_the_assigned_agent_and_trunk_stay(api, account, make_number, make_voice_agent, make_trunk):
    agent, trunk = make_voice_agent(account), make_trunk(account)
    number = make_number(account, voice_agent=agent, trunk=trunk)

    response = api.delete(number_url(number.id))

    assert response.status_code == 204
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    assert VoiceAgent.objects.filter(pk=agent.pk).exists()
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_the_deleted_number_is_then_404(api, account, make_number):
    number = make_number(account)
    api.delete(number_url(number.id))

    assert_error(api.get(number_url(number.id)), 404, "not_found")
    assert_error(api.delete(number_url(number.id)), 404, "not_found")


def test_the_number_can_be_registered_again_after_deletion(api, account, make_number):
    number = make_number(account)
    api.delete(number_url(number.id))

    response = api.post("/api/v1/numbers", {"number": number.number}, format="json")

    assert response.status_code == 201
    assert PhoneNumber.objects.get(number=number.number).pk != number.pk


def test_an_outsider_gets_404_and_the_row_stays(outsider_api, account, make_number):
    number = make_number(account)

    response = outsider_api.delete(number_url(number.id))

    assert_error(response, 404, "not_found")
    assert PhoneNumber.objects.filter(pk=number.pk, account=account).exists()


def test_an_unknown_or_impossible_id_is_404(api, account, make_number):
    number = make_number(account)

    for raw_id in (str(number.id + 1000), "0", "99999999999999999999999", "abc"):
        assert_error(api.delete(f"/api/v1/numbers/{raw_id}"), 404, "not_found")

    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_a_read_only_token_gets_403_and_the_row_stays(read_only_api, account, make_number):
    number = make_number(account)

    response = read_only_api.delete(number_url(number.id))

    assert_error(response, 403, "forbidden")
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_a_teammate_may_delete(teammate_api, account, make_number):
    number = make_number(account)

    response = teammate_api.delete(number_url(number.id))

    assert response.status_code == 204
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_a_trailing_slash_works_without_a_redirect(api, account, make_number):
    number = make_number(account)

    response = api.delete(f"{number_url(number.id)}/")

    assert response.status_code == 204
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_delete_on_the_collection_is_405(api, account, make_number):
    number = make_number(account)

    response = api.delete("/api/v1/numbers")

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"] and "POST" in response["Allow"]
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_deleting_a_number_deleted_meanwhile_is_a_404_and_records_one_event(api, account, make_number):
    number = make_number(account)
    stale_copy = PhoneNumber.objects.get(pk=number.pk)
    services.number_delete(actor=TEST_ACTOR, number=number)

    with pytest.raises(PhoneNumber.DoesNotExist):
        services.number_delete(actor=TEST_ACTOR, number=stale_copy)
    assert api.delete(f"/api/v1/numbers/{number.pk}").status_code == 404
    assert NumberEvent.objects.filter(number_id=number.pk, action="deleted").count() == 1
