"""Sign in at /login/, sign out at /logout/ (POST), signing in lands on the overview (`/`),
every page sends anonymous visitors to the sign-in page, and staff of no account go to the
admin."""

import pytest
from django.contrib.auth import SESSION_KEY

from kalem_site.accounts.services import token_create
from tests.helpers import assert_login_redirect, html


def test_the_login_page_shows_the_username_and_password_fields(client, db):
    response = client.get("/login/")

    assert response.status_code == 200
    body = html(response)
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_signing_in_with_the_right_password_goes_to_the_overview(client, owner):
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(owner.pk)


def test_signing_in_returns_to_the_page_asked_for(client, owner):
    response = client.post(
        "/login/", {"username": "alice", "password": "alice-password", "next": "/trunks/?search=main"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/trunks/?search=main"


def test_signing_in_never_redirects_to_another_site(client, owner):
    response = client.post(
        "/login/", {"username": "alice", "password": "alice-password", "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client, owner):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in html(response)
    assert SESSION_KEY not in client.session


def test_a_signed_in_user_visiting_the_login_page_goes_to_the_overview(client, owner):
    client.force_login(owner)

    response = client.get("/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signing_out_with_post_ends_the_session(client, owner):
    client.force_login(owner)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert SESSION_KEY not in client.session
    assert_login_redirect(client.get("/numbers/"), "/numbers/")


def test_signing_out_with_get_is_refused_and_keeps_the_session(client, owner):
    client.force_login(owner)

    response = client.get("/logout/")

    assert response.status_code == 405
    assert client.session[SESSION_KEY] == str(owner.pk)


def test_every_page_has_a_sign_out_form_for_the_signed_in_user(client, owner):
    client.force_login(owner)

    body = html(client.get("/numbers/"))

    assert '<form class="signout" method="post" action="/logout/">' in body
    assert 'alice · <a href="/settings/account/" title="Account settings">Acme</a>' in body


def test_the_root_is_the_overview(client, owner):
    client.force_login(owner)

    response = client.get("/")

    assert response.status_code == 200
    assert "<h1>Overview</h1>" in html(response)


def test_the_root_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/", follow=True)

    assert response.redirect_chain == [("/login/?next=/", 302)]
    assert response.status_code == 200


@pytest.fixture
def every_page(account, owner, make_number, make_voice_agent, make_text_agent, make_trunk) -> dict:
    """Every dashboard URL, by the method that uses it."""
    number = make_number(account)
    voice = make_voice_agent(account)
    text = make_text_agent(account)
    trunk = make_trunk(account)
    token = token_create(account=account, name="CI", created_by=owner).token
    return {
        "get": [
            "/",
            "/numbers/",
            "/numbers/?status=active&page=2",
            "/numbers/add/",
            f"/numbers/{number.pk}/",
            f"/numbers/{number.pk}/delete/",
            "/trunks/",
            "/trunks/add/",
            f"/trunks/{trunk.pk}/",
            f"/trunks/{trunk.pk}/delete/",
            "/voice-agents/",
            "/voice-agents/add/",
            f"/voice-agents/{voice.pk}/",
            f"/voice-agents/{voice.pk}/delete/",
            "/text-agents/",
            "/text-agents/add/",
            f"/text-agents/{text.pk}/",
            f"/text-agents/{text.pk}/delete/",
            "/settings/tokens/",
        ],
        "post": [
            "/numbers/add/",
            "/numbers/bulk/",
            f"/numbers/{number.pk}/",
            f"/numbers/{number.pk}/delete/",
            f"/numbers/{number.pk}/activate/",
            f"/numbers/{number.pk}/deactivate/",
            "/trunks/add/",
            f"/trunks/{trunk.pk}/",
            f"/trunks/{trunk.pk}/delete/",
            "/voice-agents/add/",
            f"/voice-agents/{voice.pk}/",
            f"/voice-agents/{voice.pk}/delete/",
            "/text-agents/add/",
            f"/text-agents/{text.pk}/",
            f"/text-agents/{text.pk}/delete/",
            "/settings/tokens/",
            f"/settings/tokens/{token.pk}/revoke/",
        ],
    }


def test_every_page_sends_anonymous_visitors_to_sign_in(client, every_page):
    for path in every_page["get"]:
        assert_login_redirect(client.get(path), path)


def test_every_change_by_an_anonymous_visitor_goes_to_sign_in_and_changes_nothing(
    client, every_page, django_assert_max_num_queries
):
    for path in every_page["post"]:
        # Only the session lookup: no row is read, let alone written.
        with django_assert_max_num_queries(1):
            response = client.post(path, {"name": "Hijack", "ids": ["1"], "action": "delete", "confirm": "yes"})
        assert_login_redirect(response, path)


def test_a_user_of_no_account_is_forbidden_the_dashboard(client, django_user_model):
    nobody = django_user_model.objects.create_user(username="drifter", password="x")
    client.force_login(nobody)

    response = client.get("/numbers/")

    assert response.status_code == 403
    assert "This user belongs to no account" in html(response)
    assert "Ask an administrator" in html(response)


@pytest.mark.parametrize("path", ["/", "/numbers/", "/trunks/", "/settings/tokens/"])
def test_a_superuser_of_no_account_is_sent_to_the_admin_with_a_message(client, django_user_model, path):
    client.force_login(django_user_model.objects.create_superuser(username="root", password="x", email="r@x.io"))

    response = client.get(path, follow=True)

    assert response.redirect_chain == [("/admin/", 302)]
    assert response.status_code == 200
    body = html(response)
    assert "Site administration" in body
    assert "You are signed in as root, which belongs to no account, so there is no dashboard" in body


def test_staff_of_no_account_signing_in_land_in_the_admin(client, django_user_model):
    django_user_model.objects.create_user(username="ops", password="ops-password", is_staff=True)

    response = client.post("/login/", {"username": "ops", "password": "ops-password"}, follow=True)

    assert response.redirect_chain[-1] == ("/admin/", 302)
    assert "You are signed in as ops, which belongs to no account" in html(response)
