"""The trunk form (numbers_app/trunk_form.py, the dashboard's and the admin's): every error in
one round, and selects whose empty choice says what to choose (issue 15.5)."""

import re

import pytest

from numbers_app.models import SipTrunk
from tests.helpers import field_errors, html, trunk_form_data

EVERYTHING_WRONG = {
    "name": "",
    "direction": "",
    "auth_type": "",
    "host": "not a host!",
    "port": "70000",
    "username": "",
    "password": "",
    "outbound_server": "",
}


def test_every_error_comes_in_one_round(client, owner):
    """Host and port errors come with the direction and auth type ones, not after them."""
    client.force_login(owner)

    response = client.post("/trunks/add/", EVERYTHING_WRONG)

    assert response.status_code == 200
    assert field_errors(response, "name") == ["This field is required."]
    assert field_errors(response, "direction") == ["This field is required."]
    assert field_errors(response, "auth_type") == ["This field is required."]
    assert field_errors(response, "host") != []
    assert field_errors(response, "port") == ["Ensure this value is less than or equal to 65535."]
    assert not SipTrunk.objects.exists()


def test_the_conditional_rules_come_with_the_field_errors(client, owner):
    """Digest without credentials and an outbound trunk without a server, with a bad port."""
    client.force_login(owner)

    response = client.post(
        "/trunks/add/",
        {**EVERYTHING_WRONG, "name": "Carrier", "direction": "outbound", "auth_type": "digest", "host": ""},
    )

    assert response.status_code == 200
    assert field_errors(response, "username") == ["A username is required for digest authentication."]
    assert field_errors(response, "password") == ["A password is required for digest authentication."]
    assert field_errors(response, "outbound_server") == ["An outbound server is required for an outbound trunk."]
    assert field_errors(response, "port") == ["Ensure this value is less than or equal to 65535."]
    assert not SipTrunk.objects.exists()


def test_the_edit_form_shows_every_error_and_keeps_the_stored_trunk(client, owner, account, make_trunk):
    trunk = make_trunk(account, "Edge", host="10.0.0.1")
    client.force_login(owner)

    response = client.post(
        f"/trunks/{trunk.pk}/", trunk_form_data(trunk, name="Edge 2", direction="", host="bad host!", port="0")
    )

    assert response.status_code == 200
    assert field_errors(response, "direction") == ["This field is required."]
    assert field_errors(response, "host") != []
    assert field_errors(response, "port") == ["Ensure this value is greater than or equal to 1."]
    assert "Edit Edge</h1>" in html(response)  # the stored name, not the one sent
    trunk.refresh_from_db()
    assert (trunk.name, trunk.host, trunk.port) == ("Edge", "10.0.0.1", trunk.port)


def test_a_valid_edit_still_saves_what_changed(client, owner, account, make_trunk, make_number):
    trunk = make_trunk(account, "Edge", host="10.0.0.1")
    make_number(account, trunk=trunk)
    client.force_login(owner)

    response = client.post(f"/trunks/{trunk.pk}/", trunk_form_data(trunk, name="Edge EU", port="5070"))

    assert response.status_code == 302
    trunk.refresh_from_db()
    assert (trunk.name, trunk.port) == ("Edge EU", 5070)


def selects(body: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


@pytest.mark.parametrize("url", ["/trunks/add/", "/admin/numbers_app/siptrunk/add/"])
def test_the_selects_have_real_placeholders(client, owner, staff_client, url):
    if url.startswith("/trunks"):
        client.force_login(owner)
        response = client.get(url)
    else:
        response = staff_client.get(url)

    body = html(response)
    assert "---------" not in re.sub(r'<select name="account".*?</select>', "", body, flags=re.S)
    assert selects(body, "direction") == [("", "Choose a direction…"), ("inbound", "Inbound"), ("outbound", "Outbound")]
    assert selects(body, "auth_type")[0] == ("", "Choose how the trunk authenticates…")


def test_the_admin_form_reports_every_error_in_one_round(staff_client, account):
    response = staff_client.post("/admin/numbers_app/siptrunk/add/", {"account": str(account.pk), **EVERYTHING_WRONG})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"name", "direction", "auth_type", "host", "port"} <= set(errors)
