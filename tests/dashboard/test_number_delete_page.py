"""/numbers/<id>/delete/: a confirmation page (GET deletes nothing), then POST deletes."""

import pytest
from django.test import Client

from numbers_app.models import PhoneNumber
from tests.helpers import assert_login_redirect, flashes, html


@pytest.fixture
def number(account, make_number, make_voice_agent, make_trunk) -> PhoneNumber:
    return make_number(account, "+14155550123", voice_agent=make_voice_agent(account), trunk=make_trunk(account))


def url(number: PhoneNumber) -> str:
    return f"/numbers/{number.pk}/delete/"


def test_get_asks_for_confirmation_and_deletes_nothing(client, owner, number):
    client.force_login(owner)

    response = client.get(url(number), {"next": "/numbers/?status=active&page=2"})

    assert response.status_code == 200
    body = html(response)
    assert "Delete +14155550123?" in body
    assert '<form method="post">' in body
    assert '<input type="hidden" name="next" value="/numbers/?status=active&amp;page=2">' in body
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_post_deletes_the_number_and_says_so(client, owner, number):
    client.force_login(owner)
    voice_agent, trunk = number.voice_agent, number.trunk

    response = client.post(url(number))

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"
    assert flashes(response) == ["Number +14155550123 deleted."]
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    # Its agent and trunk stay.
    voice_agent.refresh_from_db()
    trunk.refresh_from_db()


def test_it_returns_to_the_list_view_it_came_from(client, owner, number):
    client.force_login(owner)

    response = client.post(url(number), {"next": "/numbers/?status=active&page=2"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/?status=active&page=2"


def test_it_never_redirects_to_another_site(client, owner, number):
    client.force_login(owner)

    response = client.post(url(number), {"next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"


def test_a_teammate_can_delete_the_accounts_number(client, teammate, number):
    client.force_login(teammate)

    response = client.post(url(number))

    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_the_outsider_gets_404_and_deletes_nothing(client, outsider, number):
    client.force_login(outsider)

    get = client.get(url(number))
    post = client.post(url(number))

    assert get.status_code == post.status_code == 404
    assert "+14155550123" not in html(get) + html(post)
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_anonymous_visitors_are_sent_to_sign_in_and_delete_nothing(client, number):
    assert_login_redirect(client.get(url(number)), url(number))
    assert_login_redirect(client.post(url(number)), url(number))
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_a_post_without_the_csrf_token_is_refused(owner, number):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(url(number))

    assert response.status_code == 403
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_the_list_links_each_row_to_its_delete_page_with_the_way_back(client, owner, number):
    client.force_login(owner)

    body = html(client.get("/numbers/?status=active"))

    assert f'href="/numbers/{number.pk}/delete/?next=/numbers/%3Fstatus%3Dactive"' in body
