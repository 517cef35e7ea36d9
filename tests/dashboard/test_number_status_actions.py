"""POST /numbers/<id>/activate/ and /deactivate/: the row actions. POST only (GET is 405 and
changes nothing), CSRF-protected, 404 for another account's number."""

import pytest
from django.test import Client

from tests.helpers import assert_login_redirect, flashes


@pytest.fixture
def active(account, make_number):
    return make_number(account, "+14155550123", status="active")


@pytest.fixture
def inactive(account, make_number):
    return make_number(account, "+14155550124", status="inactive")


def test_activate_activates_the_number_and_says_so(client, owner, inactive):
    client.force_login(owner)

    response = client.post(f"/numbers/{inactive.pk}/activate/")

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"
    assert flashes(response) == ["Number +14155550124 activated."]
    inactive.refresh_from_db()
    assert inactive.status == "active"


def test_deactivate_deactivates_the_number_and_says_so(client, owner, active):
    client.force_login(owner)

    response = client.post(f"/numbers/{active.pk}/deactivate/")

    assert response.status_code == 302
    assert flashes(response) == ["Number +14155550123 deactivated."]
    active.refresh_from_db()
    assert active.status == "inactive"


def test_doing_it_twice_keeps_the_status(client, owner, active):
    client.force_login(owner)
    client.post(f"/numbers/{active.pk}/activate/")

    response = client.post(f"/numbers/{active.pk}/activate/")

    assert response.status_code == 302
    active.refresh_from_db()
    assert active.status == "active"


def test_a_teammate_can_deactivate_the_accounts_number(client, teammate, active):
    client.force_login(teammate)

    response = client.post(f"/numbers/{active.pk}/deactivate/")

    assert response.status_code == 302
    active.refresh_from_db()
    assert active.status == "inactive"


def test_it_returns_to_the_page_it_came_from(client, owner, active):
    client.force_login(owner)

    response = client.post(f"/numbers/{active.pk}/deactivate/", {"next": "/numbers/?status=active&page=2"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/?status=active&page=2"


def test_it_never_redirects_to_another_site(client, owner, active):
    client.force_login(owner)

    response = client.post(f"/numbers/{active.pk}/deactivate/", {"next": "//evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_get_is_not_allowed_and_changes_nothing(client, owner, active, inactive, action):
    client.force_login(owner)
    number = inactive if action == "activate" else active

    response = client.get(f"/numbers/{number.pk}/{action}/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    before = number.status
    number.refresh_from_db()
    assert number.status == before


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_the_outsider_gets_404_and_changes_nothing(client, outsider, active, inactive, action):
    client.force_login(outsider)
    number = inactive if action == "activate" else active

    response = client.post(f"/numbers/{number.pk}/{action}/")

    assert response.status_code == 404
    assert flashes(response) == []
    before = number.status
    number.refresh_from_db()
    assert number.status == before


@pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
def test_an_id_no_row_can_have_is_404(client, owner, pk):
    client.force_login(owner)

    response = client.post(f"/numbers/{pk}/activate/")

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, active):
    response = client.post(f"/numbers/{active.pk}/deactivate/")

    assert_login_redirect(response, f"/numbers/{active.pk}/deactivate/")
    active.refresh_from_db()
    assert active.status == "active"


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_a_post_without_the_csrf_token_is_refused(owner, active, inactive, action):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    number = inactive if action == "activate" else active

    response = csrf_client.post(f"/numbers/{number.pk}/{action}/")

    assert response.status_code == 403
    before = number.status
    number.refresh_from_db()
    assert number.status == before


def test_the_detail_pages_button_carries_a_csrf_token_that_works(owner, active):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    page = csrf_client.get(f"/numbers/{active.pk}/")
    assert f'action="/numbers/{active.pk}/deactivate/"' in page.content.decode()

    response = csrf_client.post(
        f"/numbers/{active.pk}/deactivate/",
        {"csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value, "next": f"/numbers/{active.pk}/"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/numbers/{active.pk}/"
    active.refresh_from_db()
    assert active.status == "inactive"
