"""The Django admin at /admin/: every model for staff across accounts, a fixed number of
queries per changelist page, status actions through the services, token digests read-only
and trunk passwords never shown."""

import re

import pytest
from django.core.management import call_command

from agents_app.models import VoiceAgent
from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import TRUNK_PASSWORD, fill_account, html, trunk_form_data


def admin_flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_admin_passes_the_system_checks(db):
    # autocomplete_fields need a search_fields on the related admin; checks catch it.
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.parametrize(
    "path, shown",
    [
        ("/admin/numbers_app/phonenumber/", ["+14155550101", "+14155550199"]),
        ("/admin/numbers_app/siptrunk/", ["Acme trunk", "Globex trunk"]),
        ("/admin/agents_app/voiceagent/", ["Acme voice", "Globex voice"]),
        ("/admin/agents_app/textagent/", ["Acme text", "Globex text"]),
        ("/admin/accounts/apitoken/", ["Acme token", "Globex token"]),
        ("/admin/accounts/user/", ["alice", "charlie"]),
        ("/admin/accounts/account/", ["Acme", "Globex"]),
    ],
)
def test_each_changelist_shows_the_rows_of_every_account(
    staff_client,
    account,
    other_account,
    owner,
    outsider,
    make_number,
    make_voice_agent,
    make_text_agent,
    make_trunk,
    path,
    shown,
):
    for acct, prefix, number in ((account, "Acme", "+14155550101"), (other_account, "Globex", "+14155550199")):
        make_number(
            acct,
            number,
            voice_agent=make_voice_agent(acct, f"{prefix} voice"),
            text_agent=make_text_agent(acct, f"{prefix} text"),
            trunk=make_trunk(acct, f"{prefix} trunk"),
        )
        token_create(account=acct, name=f"{prefix} token")

    response = staff_client.get(path)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2 + (path == "/admin/accounts/user/")  # and root
    body = html(response)
    for text in shown:
        assert text in body


@pytest.mark.parametrize(
    "path",
    [
        "/admin/numbers_app/phonenumber/?status__exact=inactive&provider__exact=manual",
        "/admin/numbers_app/phonenumber/?q=555",
        "/admin/numbers_app/siptrunk/?q=trunk",
        "/admin/agents_app/voiceagent/?q=voice",
        "/admin/accounts/apitoken/?q=token",
        "/admin/numbers_app/phonenumber/add/",
        "/admin/numbers_app/siptrunk/add/",
        "/admin/agents_app/voiceagent/add/",
        "/admin/accounts/user/add/",
    ],
)
def test_filters_search_and_add_pages_render(staff_client, account, make_number, path):
    make_number(account, status="inactive")

    response = staff_client.get(path)

    assert response.status_code == 200


def test_the_numbers_changelist_filters_by_account(staff_client, account, other_account, make_number):
    mine = make_number(account)
    make_number(other_account)

    response = staff_client.get(f"/admin/numbers_app/phonenumber/?account__id__exact={account.pk}")

    assert response.status_code == 200
    assert [n.number for n in response.context["cl"].result_list] == [mine.number]


def test_operators_who_are_not_staff_are_kept_out(client, owner):
    client.force_login(owner)

    response = client.get("/admin/numbers_app/phonenumber/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- query count -----------------------------------------------------------------------------


# Session, user, count (from the tally; no total count, show_full_result_count is off), rows
# with their account, agents and trunk (list_select_related), and one query each for the
# account, voice agent, text agent and trunk filter choices = 8.
NUMBERS_CHANGELIST_QUERIES = 8


@pytest.mark.parametrize("rows", [1, 100])
def test_the_numbers_changelist_runs_the_same_number_of_queries_whatever_the_rows(
    staff_client, account, rows, make_number, make_voice_agent, make_text_agent, make_trunk, django_assert_num_queries
):
    fill_account(account, rows, make_number, make_voice_agent, make_text_agent, make_trunk)

    with django_assert_num_queries(NUMBERS_CHANGELIST_QUERIES):
        response = staff_client.get("/admin/numbers_app/phonenumber/")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize(
    "path, queries",
    [
        # session, user, count, total count, rows + account, account filter choices
        ("/admin/numbers_app/siptrunk/", 6),
        ("/admin/agents_app/voiceagent/", 6),
        ("/admin/agents_app/textagent/", 6),
        ("/admin/accounts/apitoken/", 6),
    ],
)
@pytest.mark.parametrize("rows", [1, 100])
def test_the_other_changelists_run_a_fixed_number_of_queries(
    staff_client,
    account,
    owner,
    rows,
    path,
    queries,
    make_number,
    make_voice_agent,
    make_text_agent,
    make_trunk,
    django_assert_num_queries,
):
    fill_account(account, rows, make_number, make_voice_agent, make_text_agent, make_trunk)
    for _ in range(rows):
        token_create(account=account, name="Token", created_by=owner)

    with django_assert_num_queries(queries):
        response = staff_client.get(path)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows


# --- actions ---------------------------------------------------------------------------------


def test_the_activate_action_activates_the_selected_numbers(staff_client, account, other_account, make_number):
    a = make_number(account, status="inactive")
    b = make_number(other_account, status="inactive")
    already = make_number(account, status="active")
    untouched = make_number(account, status="inactive")

    response = staff_client.post(
        "/admin/numbers_app/phonenumber/",
        {"action": "activate", "_selected_action": [a.pk, b.pk, already.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert admin_flashes(response) == ["2 number(s) activated."]
    statuses = dict(PhoneNumber.objects.values_list("pk", "status"))
    assert [statuses[n.pk] for n in (a, b, already, untouched)] == ["active", "active", "active", "inactive"]


def test_the_deactivate_action_deactivates_the_selected_numbers(staff_client, account, make_number):
    a = make_number(account, status="active")
    b = make_number(account, status="active")

    response = staff_client.post(
        "/admin/numbers_app/phonenumber/", {"action": "deactivate", "_selected_action": [a.pk]}, follow=True
    )

    assert response.status_code == 200
    assert admin_flashes(response) == ["1 number(s) deactivated."]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == ("inactive", "active")


def test_the_revoke_action_revokes_the_selected_tokens(staff_client, account):
    issued = token_create(account=account, name="Leaked")

    response = staff_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]}, follow=True
    )

    assert response.status_code == 200
    assert admin_flashes(response) == ["1 token(s) revoked."]
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None


# --- tokens and trunk passwords --------------------------------------------------------------


def test_the_token_change_page_shows_no_plaintext_and_a_read_only_digest(staff_client, account):
    issued = token_create(account=account, name="Production")

    response = staff_client.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/")

    assert response.status_code == 200
    body = html(response)
    assert issued.plaintext not in body
    assert issued.token.digest in body  # shown as text...
    assert not re.search(r'<(input|textarea)[^>]*name="digest"', body)  # ...never as a field
    assert "digest" in response.context["adminform"].readonly_fields


def test_posting_a_new_digest_changes_nothing(staff_client, account):
    issued = token_create(account=account, name="Production")
    digest = issued.token.digest

    staff_client.post(f"/admin/accounts/apitoken/{issued.token.pk}/change/", {"digest": "0" * 64, "name": "Renamed"})

    issued.token.refresh_from_db()
    assert (issued.token.digest, issued.token.name) == (digest, "Production")


def test_tokens_cannot_be_added_in_the_admin(staff_client, db):
    response = staff_client.get("/admin/accounts/apitoken/add/")

    assert response.status_code == 403


def test_the_trunk_change_form_never_shows_the_password(staff_client, digest_trunk):
    response = staff_client.get(f"/admin/numbers_app/siptrunk/{digest_trunk.pk}/change/")

    assert response.status_code == 200
    body = html(response)
    assert TRUNK_PASSWORD not in body
    assert re.search(r'<input type="password" name="password"[^>]*>', body)


def test_the_trunk_changelist_never_shows_the_password(staff_client, digest_trunk):
    response = staff_client.get("/admin/numbers_app/siptrunk/")

    assert response.status_code == 200
    assert TRUNK_PASSWORD not in html(response)


def test_saving_a_trunk_with_an_empty_password_keeps_it(staff_client, digest_trunk):
    response = staff_client.post(
        f"/admin/numbers_app/siptrunk/{digest_trunk.pk}/change/", trunk_form_data(digest_trunk, name="Carrier EU")
    )

    assert response.status_code == 302, html(response)
    digest_trunk.refresh_from_db()
    assert (digest_trunk.name, digest_trunk.sip_password()) == ("Carrier EU", TRUNK_PASSWORD)


def test_saving_a_trunk_with_a_new_password_replaces_it(staff_client, digest_trunk):
    response = staff_client.post(
        f"/admin/numbers_app/siptrunk/{digest_trunk.pk}/change/", trunk_form_data(digest_trunk, password="n3w-Pa55")
    )

    assert response.status_code == 302, html(response)
    digest_trunk.refresh_from_db()
    assert digest_trunk.sip_password() == "n3w-Pa55"


def test_a_trunk_form_with_errors_does_not_echo_the_password(staff_client, digest_trunk):
    response = staff_client.post(
        f"/admin/numbers_app/siptrunk/{digest_trunk.pk}/change/",
        trunk_form_data(digest_trunk, username="", password="typed-Pa55"),
    )

    assert response.status_code == 200
    body = html(response)
    assert "typed-Pa55" not in body and TRUNK_PASSWORD not in body
    digest_trunk.refresh_from_db()
    assert digest_trunk.username == "kalem_out"


def test_the_number_change_page_renders_with_autocomplete_widgets(staff_client, account, make_number, make_voice_agent):
    number = make_number(account, voice_agent=make_voice_agent(account, "Sales"))

    response = staff_client.get(f"/admin/numbers_app/phonenumber/{number.pk}/change/")

    assert response.status_code == 200
    body = html(response)
    assert re.search(r'<select name="voice_agent"[^>]*class="[^"]*admin-autocomplete', body)
    assert "Sales" in body


def test_the_autocomplete_finds_agents_by_name(staff_client, account, other_account, make_voice_agent):
    sales = make_voice_agent(account, "Sales")
    make_voice_agent(other_account, "Support")

    response = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": "numbers_app", "model_name": "phonenumber", "field_name": "voice_agent", "term": "sal"},
    )

    assert response.status_code == 200
    assert response.json()["results"] == [{"id": str(sales.pk), "text": "Sales"}]


# --- number forms go through the services ----------------------------------------------------


def number_add_data(account, **changes) -> dict:
    data = {
        "account": str(account.pk),
        "number": "+14155550123",
        "provider": "manual",
        "status": "active",
        "voice_agent": "",
        "text_agent": "",
        "trunk": "",
    }
    return {**data, **changes}


def test_adding_a_number_in_the_admin_creates_it(staff_client, account):
    response = staff_client.post("/admin/numbers_app/phonenumber/add/", number_add_data(account, status="inactive"))

    assert response.status_code == 302, html(response)
    number = PhoneNumber.objects.get(number="+14155550123")
    assert (number.account, number.status) == (account, "inactive")


@pytest.mark.parametrize(
    "value, message",
    [
        ("+1555", "+1555 is not a possible phone number for country code +1."),
        ("+1 555 123 4567", "Enter a phone number in E.164 format, e.g. +15551234567."),
        ("15551234567", "Enter a phone number in E.164 format, e.g. +15551234567."),
    ],
)
def test_an_invalid_number_is_a_form_error_in_the_admin(staff_client, account, value, message):
    response = staff_client.post("/admin/numbers_app/phonenumber/add/", number_add_data(account, number=value))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["number"] == [message]
    assert not PhoneNumber.objects.exists()


def test_a_duplicate_number_is_a_form_error_in_the_admin(staff_client, account, other_account, make_number):
    theirs = make_number(other_account)

    response = staff_client.post("/admin/numbers_app/phonenumber/add/", number_add_data(account, number=theirs.number))

    assert response.status_code == 200
    assert "number" in response.context["adminform"].form.errors
    assert PhoneNumber.objects.get(number=theirs.number).account == other_account


def test_assigning_another_accounts_agent_in_the_admin_is_a_form_error(
    staff_client, account, other_account, make_number, make_voice_agent
):
    number = make_number(account)
    theirs = make_voice_agent(other_account, "Globex voice")
    data = number_add_data(account, voice_agent=str(theirs.pk))

    added = staff_client.post("/admin/numbers_app/phonenumber/add/", {**data, "number": "+14155550124"})
    changed = staff_client.post(f"/admin/numbers_app/phonenumber/{number.pk}/change/", data)

    assert (added.status_code, changed.status_code) == (200, 200)
    assert f"Voice agent {theirs.pk} does not exist." in html(added)
    assert f"Voice agent {theirs.pk} does not exist." in html(changed)
    number.refresh_from_db()
    assert number.voice_agent_id is None
    assert not PhoneNumber.objects.filter(number="+14155550124").exists()


def test_adding_a_duplicate_agent_in_the_admin_is_a_form_error(staff_client, account, make_voice_agent):
    make_voice_agent(account, "Sales")

    response = staff_client.post(
        "/admin/agents_app/voiceagent/add/", {"account": str(account.pk), "name": "Sales", "description": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert VoiceAgent.objects.filter(account=account, name="Sales").count() == 1


def test_adding_a_digest_trunk_without_a_password_in_the_admin_is_a_form_error(staff_client, account):
    response = staff_client.post(
        "/admin/numbers_app/siptrunk/add/",
        {
            "account": str(account.pk),
            "name": "Carrier",
            "direction": "inbound",
            "auth_type": "digest",
            "host": "",
            "port": "5060",
            "username": "kalem",
            "password": "",
            "outbound_server": "",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["password"] == [
        "A password is required for digest authentication."
    ]
    assert not SipTrunk.objects.exists()


def test_changing_a_number_in_the_admin_saves_it_through_the_service(
    staff_client, account, make_number, make_voice_agent
):
    number = make_number(account)
    agent = make_voice_agent(account)
    response = staff_client.post(
        f"/admin/numbers_app/phonenumber/{number.pk}/change/",
        {"provider": "twilio", "status": "inactive", "voice_agent": agent.pk, "text_agent": "", "trunk": ""},
    )
    assert response.status_code == 302, html(response)
    number.refresh_from_db()
    assert (number.provider, number.status, number.voice_agent_id) == ("twilio", "inactive", agent.pk)


def test_a_view_only_staff_user_never_sees_the_trunk_password(client, django_user_model, digest_trunk):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(username="viewer", password="viewer-password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_siptrunk"))
    client.force_login(viewer)
    response = client.get(f"/admin/numbers_app/siptrunk/{digest_trunk.pk}/change/")
    assert response.status_code == 200
    assert TRUNK_PASSWORD not in html(response)


def test_deleting_selected_trunks_unassigns_their_numbers_through_the_service(
    staff_client, account, make_number, make_trunk
):
    trunk = make_trunk(account)
    number = make_number(account, trunk=trunk)
    before = number.updated_at
    response = staff_client.post(
        "/admin/numbers_app/siptrunk/",
        {"action": "delete_selected", "_selected_action": [trunk.pk], "post": "yes"},
    )
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.trunk_id is None
    assert number.updated_at > before  # the service's unassign, not a bare cascade
