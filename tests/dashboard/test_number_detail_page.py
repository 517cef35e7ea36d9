"""/numbers/<id>/: the number's details and its edit form (status, provider, agents, trunk)."""

import pytest
from django.test import Client

from numbers_app.models import PhoneNumber
from tests.helpers import assert_login_redirect, field_errors, flashes, html


@pytest.fixture
def number(account, make_number, make_voice_agent, make_text_agent, make_trunk) -> PhoneNumber:
    return make_number(
        account,
        "+14155550123",
        status="active",
        provider="manual",
        voice_agent=make_voice_agent(account, "Sales"),
        text_agent=make_text_agent(account, "Chat"),
        trunk=make_trunk(account, "Main"),
    )


def url(number: PhoneNumber) -> str:
    return f"/numbers/{number.pk}/"


def test_the_owner_sees_the_number_and_its_assignments(client, owner, number):
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    body = html(response)
    assert "+14155550123" in body
    assert f'<a href="/voice-agents/{number.voice_agent_id}/">Sales</a>' in body
    assert f'<a href="/text-agents/{number.text_agent_id}/">Chat</a>' in body
    assert f'<a href="/trunks/{number.trunk_id}/">Main</a>' in body
    assert f'href="/numbers/{number.pk}/delete/"' in body
    form = response.context["form"]
    assert form.initial["status"] == "active"
    assert form.initial["voice_agent"] == number.voice_agent


def test_a_teammate_sees_the_same_page(client, teammate, number):
    client.force_login(teammate)

    response = client.get(url(number))

    assert response.status_code == 200
    assert "+14155550123" in html(response)


def test_the_dropdowns_offer_only_the_accounts_agents_and_trunks(
    client, owner, number, other_account, make_voice_agent, make_text_agent, make_trunk
):
    make_voice_agent(other_account, "Globex voice")
    make_text_agent(other_account, "Globex text")
    make_trunk(other_account, "Globex trunk")
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    assert "Globex" not in html(response)


def test_the_trunk_password_is_not_on_the_page(client, owner, account, make_number, make_trunk):
    trunk = make_trunk(account, auth_type="digest", username="kalem", password="Sup3r-Secret-pw")
    number = make_number(account, trunk=trunk)
    client.force_login(owner)

    response = client.get(url(number))

    assert response.status_code == 200
    assert "Sup3r-Secret-pw" not in html(response)


def test_saving_changes_the_number_and_says_so(client, owner, account, number, make_voice_agent, make_trunk):
    support = make_voice_agent(account, "Support")
    backup = make_trunk(account, "Backup")
    client.force_login(owner)

    response = client.post(
        url(number),
        {
            "status": "inactive",
            "provider": "twilio",
            "voice_agent": str(support.pk),
            "text_agent": "",
            "trunk": str(backup.pk),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == url(number)
    assert flashes(response) == ["Number +14155550123 saved."]
    number.refresh_from_db()
    assert (number.status, number.provider) == ("inactive", "twilio")
    assert (number.voice_agent, number.text_agent, number.trunk) == (support, None, backup)


def test_a_teammate_can_save_changes(client, teammate, number):
    client.force_login(teammate)

    response = client.post(
        url(number), {"status": "inactive", "provider": "manual", "voice_agent": "", "text_agent": "", "trunk": ""}
    )

    assert response.status_code == 302
    number.refresh_from_db()
    assert number.status == "inactive"
    assert (number.voice_agent, number.text_agent, number.trunk) == (None, None, None)


@pytest.mark.parametrize(
    "field, make", [("voice_agent", "make_voice_agent"), ("text_agent", "make_text_agent"), ("trunk", "make_trunk")]
)
def test_another_accounts_agent_or_trunk_is_refused_next_to_its_field(
    client, owner, request, number, other_account, field, make
):
    theirs = request.getfixturevalue(make)(other_account)
    before = getattr(number, f"{field}_id")
    client.force_login(owner)
    data = {"status": "active", "provider": "manual", "voice_agent": "", "text_agent": "", "trunk": ""}

    response = client.post(url(number), {**data, field: str(theirs.pk)})

    assert response.status_code == 200
    assert field_errors(response, field) == ["Select a valid choice. That choice is not one of the available choices."]
    number.refresh_from_db()
    assert getattr(number, f"{field}_id") == before


def test_an_unknown_status_is_refused_next_to_its_field(client, owner, number):
    client.force_login(owner)

    response = client.post(url(number), {"status": "paused", "provider": "manual"})

    assert response.status_code == 200
    assert field_errors(response, "status") == ["Select a valid choice. paused is not one of the available choices."]
    number.refresh_from_db()
    assert number.status == "active"


def test_the_outsider_gets_404_and_changes_nothing(client, outsider, number):
    client.force_login(outsider)

    get = client.get(url(number))
    post = client.post(url(number), {"status": "inactive", "provider": "twilio"})

    assert get.status_code == post.status_code == 404
    assert "+14155550123" not in html(get) + html(post)
    number.refresh_from_db()
    assert (number.status, number.provider) == ("active", "manual")


@pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
def test_an_id_no_row_can_have_is_404(client, owner, pk):
    client.force_login(owner)

    assert client.get(f"/numbers/{pk}/").status_code == 404


def test_a_deleted_number_is_404(client, owner, number):
    client.force_login(owner)
    path = url(number)
    number.delete()

    assert client.get(path).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, number):
    assert_login_redirect(client.get(url(number)), url(number))
    assert_login_redirect(client.post(url(number), {"status": "inactive", "provider": "manual"}), url(number))
    number.refresh_from_db()
    assert number.status == "active"


def test_a_post_without_the_csrf_token_is_refused(owner, number):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(url(number), {"status": "inactive", "provider": "manual"})

    assert response.status_code == 403
    number.refresh_from_db()
    assert number.status == "active"
