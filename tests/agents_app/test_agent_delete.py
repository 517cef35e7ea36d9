"""DELETE /api/v1/voice-agents/{id} and /api/v1/text-agents/{id} — API.md §6 (Delete: 204;
the agent is unassigned from its numbers, the numbers stay), §1."""

from numbers_app.models import PhoneNumber
from tests.helpers import assert_error


def test_it_deletes_the_agent(api, account, kind, make_agent):
    agent = make_agent(account)

    response = api.delete(f"{kind.url}/{agent.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert not kind.model.objects.filter(pk=agent.pk).exists()


def test_it_accepts_a_trailing_slash(api, account, kind, make_agent):
    agent = make_agent(account)

    response = api.delete(f"{kind.url}/{agent.id}/")

    assert response.status_code == 204
    assert not kind.model.objects.filter(pk=agent.pk).exists()


def test_its_numbers_stay_unassigned(api, account, kind, make_agent, make_other_agent, make_number, make_trunk):
    agent = make_agent(account)
    other_same_kind = make_agent(account)
    other_kind = make_other_agent(account)
    trunk = make_trunk(account)
    first = make_number(account, trunk=trunk, **{kind.number_field: agent, kind.other_number_field: other_kind})
    second = make_number(account, **{kind.number_field: agent})
    elsewhere = make_number(account, **{kind.number_field: other_same_kind})

    response = api.delete(f"{kind.url}/{agent.id}")

    assert response.status_code == 204
    assert PhoneNumber.objects.count() == 3
    first.refresh_from_db()
    second.refresh_from_db()
    assert getattr(first, f"{kind.number_field}_id") is None
    assert getattr(second, f"{kind.number_field}_id") is None
    # Only this agent's slot is emptied.
    assert getattr(first, f"{kind.other_number_field}_id") == other_kind.id
    assert first.trunk_id == trunk.id
    assert getattr(PhoneNumber.objects.get(pk=elsewhere.pk), f"{kind.number_field}_id") == other_same_kind.id
    assert kind.other_model.objects.filter(pk=other_kind.pk).exists()

    shown = api.get(f"/api/v1/numbers/{first.id}").json()
    assert (shown[f"{kind.number_field}_id"], shown[f"{kind.number_field}_name"]) == (None, None)
    assert shown[f"{kind.other_number_field}_id"] == other_kind.id


def test_deleting_twice_is_a_404(api, account, kind, make_agent):
    agent = make_agent(account)
    api.delete(f"{kind.url}/{agent.id}")

    response = api.delete(f"{kind.url}/{agent.id}")

    assert_error(response, 404, "not_found")


def test_it_rejects_a_foreign_agent(outsider_api, account, kind, make_agent, make_number):
    agent = make_agent(account)
    number = make_number(account, **{kind.number_field: agent})

    response = outsider_api.delete(f"{kind.url}/{agent.id}")

    assert_error(response, 404, "not_found")
    assert kind.model.objects.filter(pk=agent.pk).exists()
    assert getattr(PhoneNumber.objects.get(pk=number.pk), f"{kind.number_field}_id") == agent.id


def test_a_read_only_token_cannot_delete(read_only_api, account, kind, make_agent, make_number):
    agent = make_agent(account)
    number = make_number(account, **{kind.number_field: agent})

    response = read_only_api.delete(f"{kind.url}/{agent.id}")

    assert_error(response, 403, "forbidden")
    assert kind.model.objects.filter(pk=agent.pk).exists()
    assert getattr(PhoneNumber.objects.get(pk=number.pk), f"{kind.number_field}_id") == agent.id


def test_the_teammates_token_can_delete(teammate_api, account, kind, make_agent):
    agent = make_agent(account)

    response = teammate_api.delete(f"{kind.url}/{agent.id}")

    assert response.status_code == 204
    assert not kind.model.objects.filter(pk=agent.pk).exists()


def test_an_anonymous_request_cannot_delete(anonymous_api, account, kind, make_agent):
    agent = make_agent(account)

    response = anonymous_api.delete(f"{kind.url}/{agent.id}")

    assert_error(response, 401, "unauthenticated")
    assert kind.model.objects.filter(pk=agent.pk).exists()
