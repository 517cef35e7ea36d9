"""SIP trunks (/trunks/): list with search and numbers count, create, edit, delete with a
confirmation that says how many numbers will be unassigned. The password is write-only:
never rendered back, kept when left empty on edit."""

import re

import pytest
from django.test import Client

from numbers_app.models import SipTrunk
from tests.helpers import TRUNK_PASSWORD, assert_login_redirect, field_errors, flashes, html, trunk_form_data

INBOUND_IP = {"name": "Main", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1", "port": "5060"}
DIGEST = {
    "name": "Carrier",
    "direction": "outbound",
    "auth_type": "digest",
    "username": "kalem_out",
    "password": TRUNK_PASSWORD,
    "outbound_server": "sip.carrier.example:5060",
    "port": "5060",
}


def rows(response) -> list[str]:
    return [trunk.name for trunk in response.context["page"].object_list]


# --- list ------------------------------------------------------------------------------------


def test_the_list_shows_each_trunk_with_its_numbers_count_and_a_link_to_them(
    client, owner, account, make_trunk, make_number, digest_trunk
):
    main = make_trunk(account, "Main", host="sip.example.com")
    for _ in range(3):
        make_number(account, trunk=main)
    client.force_login(owner)

    response = client.get("/trunks/")

    assert response.status_code == 200
    assert rows(response) == ["Carrier", "Main"]
    body = html(response)
    assert f'<a href="/numbers/?trunk_id={main.pk}">3</a>' in body
    assert f'<a href="/numbers/?trunk_id={digest_trunk.pk}">0</a>' in body
    assert "sip.carrier.example:5060" in body
    assert TRUNK_PASSWORD not in body


def test_a_teammate_sees_the_same_trunks(client, teammate, account, make_trunk):
    make_trunk(account, "Main")
    client.force_login(teammate)

    response = client.get("/trunks/")

    assert response.status_code == 200
    assert rows(response) == ["Main"]


def test_another_accounts_trunks_are_not_listed(client, outsider, account, make_trunk):
    make_trunk(account, "Acme primary")
    client.force_login(outsider)

    response = client.get("/trunks/")

    assert response.status_code == 200
    assert rows(response) == []
    assert "Acme primary" not in html(response)


def test_search_finds_trunks_by_part_of_the_name(client, owner, account, other_account, make_trunk):
    make_trunk(account, "Main EU")
    make_trunk(account, "Backup")
    make_trunk(account, "Domain")
    make_trunk(other_account, "Main Globex")
    client.force_login(owner)

    response = client.get("/trunks/", {"search": "main"})

    assert response.status_code == 200
    assert rows(response) == ["Domain", "Main EU"]


def test_the_direction_filter_and_search_combine(client, owner, account, make_trunk, digest_trunk):
    make_trunk(account, "Carrier inbound")
    client.force_login(owner)

    response = client.get("/trunks/", {"search": "carrier", "direction": "outbound"})

    assert response.status_code == 200
    assert rows(response) == ["Carrier"]
    assert '<option value="outbound" selected>' in html(response)


def test_an_invalid_direction_is_reported_not_a_500(client, owner, account, make_trunk):
    make_trunk(account, "Main")
    client.force_login(owner)

    response = client.get("/trunks/", {"direction": "sideways"})

    assert response.status_code == 200
    assert "<code>direction</code>" in html(response)
    assert rows(response) == ["Main"]


# Session, the user with their account (named in the header), count, rows = 4.
TRUNK_LIST_QUERIES = 4


@pytest.mark.parametrize("trunks", [1, 100])
def test_the_list_runs_the_same_number_of_queries_whatever_the_rows(
    client, owner, account, make_trunk, make_number, trunks, django_assert_num_queries
):
    for _ in range(trunks):
        make_number(account, trunk=make_trunk(account))
    client.force_login(owner)

    with django_assert_num_queries(TRUNK_LIST_QUERIES):
        response = client.get("/trunks/?per_page=100")

    assert response.status_code == 200
    assert len(rows(response)) == trunks


# --- create ----------------------------------------------------------------------------------


def test_the_add_form_renders(client, owner):
    client.force_login(owner)

    response = client.get("/trunks/add/")

    assert response.status_code == 200
    body = html(response)
    assert "Add SIP trunk" in body
    for name in ("name", "direction", "auth_type", "host", "port", "username", "password", "outbound_server"):
        assert f'name="{name}"' in body


def test_creating_a_trunk_goes_back_to_the_list_and_says_so(client, owner, account):
    client.force_login(owner)

    response = client.post("/trunks/add/", INBOUND_IP)

    assert response.status_code == 302
    assert response["Location"] == "/trunks/"
    assert flashes(response) == ["SIP trunk Main saved."]
    trunk = SipTrunk.objects.get()
    assert (trunk.account, trunk.name, trunk.direction, trunk.auth_type, trunk.host, trunk.port) == (
        account,
        "Main",
        "inbound",
        "ip",
        "10.0.0.1",
        5060,
    )


def test_creating_a_digest_trunk_stores_the_password(client, owner, account):
    client.force_login(owner)

    response = client.post("/trunks/add/", DIGEST)

    assert response.status_code == 302
    trunk = SipTrunk.objects.get()
    assert (trunk.username, trunk.sip_password()) == ("kalem_out", TRUNK_PASSWORD)


def test_the_trunk_rules_are_errors_next_to_their_fields(client, owner):
    client.force_login(owner)

    response = client.post("/trunks/add/", {**INBOUND_IP, "host": ""})

    assert response.status_code == 200
    assert field_errors(response, "host") == ["A host is required for an inbound trunk with IP authentication."]
    assert not SipTrunk.objects.exists()


def test_a_form_sent_back_with_errors_does_not_echo_the_password(client, owner):
    client.force_login(owner)

    response = client.post("/trunks/add/", {**DIGEST, "username": ""})

    assert response.status_code == 200
    assert field_errors(response, "username") == ["A username is required for digest authentication."]
    assert TRUNK_PASSWORD not in html(response)
    assert not SipTrunk.objects.exists()


# --- edit ------------------------------------------------------------------------------------


def test_the_edit_page_never_shows_the_password(client, owner, digest_trunk):
    client.force_login(owner)

    response = client.get(f"/trunks/{digest_trunk.pk}/")

    assert response.status_code == 200
    body = html(response)
    assert "Edit Carrier" in body
    assert 'value="kalem_out"' in body
    assert TRUNK_PASSWORD not in body
    assert re.search(r'<input type="password" name="password"[^>]*>', body)
    assert 'name="password" value' not in body
    assert f'href="/numbers/?trunk_id={digest_trunk.pk}"' in body


def test_no_dashboard_page_shows_the_password(client, owner, account, digest_trunk, make_number):
    number = make_number(account, trunk=digest_trunk)
    client.force_login(owner)

    for path in (
        "/numbers/",
        f"/numbers/{number.pk}/",
        "/numbers/add/",
        "/trunks/",
        f"/trunks/{digest_trunk.pk}/",
        f"/trunks/{digest_trunk.pk}/delete/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert TRUNK_PASSWORD not in html(response), path


def test_an_empty_password_on_edit_keeps_the_current_one(client, owner, digest_trunk):
    client.force_login(owner)

    response = client.post(f"/trunks/{digest_trunk.pk}/", trunk_form_data(digest_trunk, name="Carrier EU"))

    assert response.status_code == 302
    assert flashes(response) == ["SIP trunk Carrier EU saved."]
    digest_trunk.refresh_from_db()
    assert (digest_trunk.name, digest_trunk.sip_password()) == ("Carrier EU", TRUNK_PASSWORD)


def test_a_filled_password_on_edit_replaces_it(client, owner, digest_trunk):
    client.force_login(owner)

    response = client.post(f"/trunks/{digest_trunk.pk}/", trunk_form_data(digest_trunk, password="n3w-Pa55"))

    assert response.status_code == 302
    digest_trunk.refresh_from_db()
    assert digest_trunk.sip_password() == "n3w-Pa55"


def test_switching_to_digest_without_a_password_is_an_error(client, owner, account, make_trunk):
    trunk = make_trunk(account, "Main")
    client.force_login(owner)

    response = client.post(f"/trunks/{trunk.pk}/", trunk_form_data(trunk, auth_type="digest", username="kalem"))

    assert response.status_code == 200
    assert field_errors(response, "password") == ["A password is required for digest authentication."]
    trunk.refresh_from_db()
    assert (trunk.auth_type, trunk.sip_password()) == ("ip", "")


def test_a_teammate_can_edit_the_accounts_trunk(client, teammate, account, make_trunk):
    trunk = make_trunk(account, "Main")
    client.force_login(teammate)

    response = client.post(f"/trunks/{trunk.pk}/", trunk_form_data(trunk, port="5070"))

    assert response.status_code == 302
    trunk.refresh_from_db()
    assert trunk.port == 5070


def test_an_out_of_range_port_is_an_error_next_to_it(client, owner, account, make_trunk):
    trunk = make_trunk(account, "Main")
    client.force_login(owner)

    response = client.post(f"/trunks/{trunk.pk}/", trunk_form_data(trunk, port="70000"))

    assert response.status_code == 200
    assert field_errors(response, "port") == ["Ensure this value is less than or equal to 65535."]
    trunk.refresh_from_db()
    assert trunk.port == 5060


# --- delete ----------------------------------------------------------------------------------


def test_the_delete_page_says_how_many_numbers_will_be_unassigned(client, owner, account, make_trunk, make_number):
    trunk = make_trunk(account, "Main")
    for _ in range(2):
        make_number(account, trunk=trunk)
    client.force_login(owner)

    response = client.get(f"/trunks/{trunk.pk}/delete/")

    assert response.status_code == 200
    body = html(response)
    assert "Delete SIP trunk Main?" in body
    assert "2 numbers will be unassigned from it." in body
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_deleting_keeps_the_numbers_unassigned_and_says_how_many(client, owner, account, make_trunk, make_number):
    trunk = make_trunk(account, "Main")
    numbers = [make_number(account, trunk=trunk) for _ in range(2)]
    client.force_login(owner)

    response = client.post(f"/trunks/{trunk.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/trunks/"
    assert flashes(response) == ["SIP trunk Main deleted; 2 numbers unassigned."]
    assert not SipTrunk.objects.filter(pk=trunk.pk).exists()
    for number in numbers:
        number.refresh_from_db()
        assert number.trunk_id is None


def test_deleting_a_trunk_of_one_number_says_one_number(client, owner, account, make_trunk, make_number):
    trunk = make_trunk(account, "Main")
    make_number(account, trunk=trunk)
    client.force_login(owner)

    confirm = client.get(f"/trunks/{trunk.pk}/delete/")
    response = client.post(f"/trunks/{trunk.pk}/delete/")

    assert "1 number will be unassigned from it." in html(confirm)
    assert response.status_code == 302
    assert flashes(response) == ["SIP trunk Main deleted; 1 number unassigned."]


# --- other accounts, anonymous, CSRF ---------------------------------------------------------


def test_the_outsider_gets_404_on_the_edit_and_delete_pages_and_changes_nothing(
    client, outsider, account, digest_trunk, make_number
):
    number = make_number(account, trunk=digest_trunk)
    client.force_login(outsider)

    responses = [
        client.get(f"/trunks/{digest_trunk.pk}/"),
        client.post(f"/trunks/{digest_trunk.pk}/", trunk_form_data(digest_trunk, name="Hijacked", password="x")),
        client.get(f"/trunks/{digest_trunk.pk}/delete/"),
        client.post(f"/trunks/{digest_trunk.pk}/delete/"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert all("Carrier" not in html(r) and "kalem_out" not in html(r) for r in responses)
    digest_trunk.refresh_from_db()
    assert (digest_trunk.name, digest_trunk.sip_password()) == ("Carrier", TRUNK_PASSWORD)
    number.refresh_from_db()
    assert number.trunk_id == digest_trunk.pk


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, account, make_trunk):
    trunk = make_trunk(account, "Main")

    for path in ("/trunks/", "/trunks/add/", f"/trunks/{trunk.pk}/", f"/trunks/{trunk.pk}/delete/"):
        assert_login_redirect(client.get(path), path)
    assert_login_redirect(client.post(f"/trunks/{trunk.pk}/delete/"), f"/trunks/{trunk.pk}/delete/")
    assert SipTrunk.objects.filter(pk=trunk.pk).exists()


def test_posts_without_the_csrf_token_are_refused(owner, account, make_trunk):
    trunk = make_trunk(account, "Main")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    create = csrf_client.post("/trunks/add/", {**INBOUND_IP, "name": "New"})
    edit = csrf_client.post(f"/trunks/{trunk.pk}/", trunk_form_data(trunk, name="Renamed"))
    delete = csrf_client.post(f"/trunks/{trunk.pk}/delete/")

    assert (create.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    assert list(SipTrunk.objects.values_list("name", flat=True)) == ["Main"]
