"""Changes made in the Django admin are on the audit timeline like any other: through the
services, named after the staff user, through the "admin" channel, on the number's own
account."""

import pytest
from django.test import Client

from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import TEST_ACTOR, events_of
from tests.helpers import html

STAFF = ("user", "root", "admin")
NUMBERS = "/admin/numbers_app/phonenumber/"


def named(related) -> dict:
    return {"id": related.pk, "name": related.name}


def state(**changes) -> dict:
    return {"status": "active", "provider": "manual", "voice_agent": None, "text_agent": None, "trunk": None, **changes}


@pytest.fixture
def sales(account, make_voice_agent):
    return make_voice_agent(account, "Sales")


@pytest.fixture
def number(account, sales) -> PhoneNumber:
    return services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123", voice_agent=sales)


def change_data(number: PhoneNumber, **changes) -> dict:
    """The number's change form as the admin shows it (account and number are read-only)."""
    data = {
        "provider": number.provider,
        "status": number.status,
        "voice_agent": str(number.voice_agent_id or ""),
        "text_agent": str(number.text_agent_id or ""),
        "trunk": str(number.trunk_id or ""),
    }
    return {**data, **changes}


# --- numbers --------------------------------------------------------------------------------


def test_changing_a_numbers_status_records_deactivated_by_the_staff_user(staff_client, number):
    response = staff_client.post(f"{NUMBERS}{number.pk}/change/", change_data(number, status="inactive"))

    assert response.status_code == 302, html(response)
    number.refresh_from_db()
    assert number.status == "inactive"
    assert events_of(number.pk) == [
        ("created", "", None, state(voice_agent=named(number.voice_agent)), "system", "tests", "command"),
        ("deactivated", "status", "active", "inactive", *STAFF),
    ]
    assert NumberEvent.objects.filter(number_id=number.pk).latest("id").account_id == number.account_id


def test_changing_several_fields_records_one_event_per_changed_field(
    staff_client, account, number, sales, make_voice_agent, make_trunk
):
    support, edge = make_voice_agent(account, "Support"), make_trunk(account, "Edge")

    response = staff_client.post(
        f"{NUMBERS}{number.pk}/change/",
        change_data(number, provider="twilio", voice_agent=str(support.pk), trunk=str(edge.pk)),
    )

    assert response.status_code == 302, html(response)
    assert sorted(events_of(number.pk)[1:]) == [
        ("assigned", "trunk", None, named(edge), *STAFF),
        ("assigned", "voice_agent", named(sales), named(support), *STAFF),
        ("provider_changed", "provider", "manual", "twilio", *STAFF),
    ]


def test_saving_a_number_unchanged_records_nothing(staff_client, number):
    response = staff_client.post(f"{NUMBERS}{number.pk}/change/", change_data(number))

    assert response.status_code == 302, html(response)
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_a_refused_change_records_nothing(staff_client, number, other_account, make_voice_agent):
    theirs = make_voice_agent(other_account, "Globex voice")

    response = staff_client.post(
        f"{NUMBERS}{number.pk}/change/", change_data(number, status="inactive", voice_agent=str(theirs.pk))
    )

    assert response.status_code == 200
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_adding_a_number_records_created_by_the_staff_user(staff_client, account, sales):
    response = staff_client.post(
        f"{NUMBERS}add/",
        {
            "account": str(account.pk),
            "number": "+14155550124",
            "provider": "twilio",
            "status": "inactive",
            "voice_agent": str(sales.pk),
            "text_agent": "",
            "trunk": "",
        },
    )

    assert response.status_code == 302, html(response)
    added = PhoneNumber.objects.get(number="+14155550124")
    assert events_of(added.pk) == [
        ("created", "", None, state(status="inactive", provider="twilio", voice_agent=named(sales)), *STAFF)
    ]
    assert NumberEvent.objects.get(number_id=added.pk).account_id == account.pk


def test_delete_selected_records_each_numbers_state_by_the_staff_user(
    staff_client, account, other_account, number, sales
):
    theirs = services.number_create(actor=TEST_ACTOR, account=other_account, number="+14155550199")
    kept = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550124")
    services.number_set_status(actor=TEST_ACTOR, number=theirs, active=False)

    response = staff_client.post(
        NUMBERS, {"action": "delete_selected", "_selected_action": [number.pk, theirs.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(pk__in=[number.pk, theirs.pk]).exists()
    assert events_of(number.pk)[-1] == ("deleted", "", state(voice_agent=named(sales)), None, *STAFF)
    assert events_of(theirs.pk)[-1] == ("deleted", "", state(status="inactive"), None, *STAFF)
    # Each event belongs to its number's account.
    deleted = NumberEvent.objects.filter(action="deleted")
    assert dict(deleted.values_list("number_id", "account_id")) == {
        number.pk: account.pk,
        theirs.pk: other_account.pk,
    }
    assert [row[0] for row in events_of(kept.pk)] == ["created"]


def test_the_delete_confirmation_page_records_nothing(staff_client, number):
    response = staff_client.post(NUMBERS, {"action": "delete_selected", "_selected_action": [number.pk]})

    assert response.status_code == 200
    assert PhoneNumber.objects.filter(pk=number.pk).exists()
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_deleting_one_number_from_its_page_records_deleted(staff_client, number, sales):
    response = staff_client.post(f"{NUMBERS}{number.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    assert events_of(number.pk)[-1] == ("deleted", "", state(voice_agent=named(sales)), None, *STAFF)


@pytest.mark.parametrize(
    "action, start, recorded",
    [
        ("deactivate", "active", ("deactivated", "active", "inactive")),
        ("activate", "inactive", ("activated", "inactive", "active")),
    ],
)
def test_the_status_actions_record_each_changed_number(staff_client, account, action, start, recorded):
    changes = [services.number_create(actor=TEST_ACTOR, account=account, number=f"+1415555010{i}") for i in range(2)]
    already = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550109")
    for n in changes:
        services.number_update(actor=TEST_ACTOR, number=n, status=start)
    services.number_update(actor=TEST_ACTOR, number=already, status=recorded[2])
    before = NumberEvent.objects.count()

    response = staff_client.post(
        NUMBERS, {"action": action, "_selected_action": [n.pk for n in (*changes, already)]}, follow=True
    )

    assert response.status_code == 200
    assert NumberEvent.objects.count() == before + 2
    verb, old, new = recorded
    for n in changes:
        assert events_of(n.pk)[-1] == (verb, "status", old, new, *STAFF)
    assert all(row[5] != "root" for row in events_of(already.pk))


# --- agents and trunks ------------------------------------------------------------------------


def test_renaming_a_voice_agent_records_renamed_on_each_of_its_numbers(staff_client, account, number, sales):
    second = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550124", voice_agent=sales)
    idle = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550125")

    response = staff_client.post(
        f"/admin/agents_app/voiceagent/{sales.pk}/change/", {"name": "Support", "description": "Renamed"}
    )

    assert response.status_code == 302, html(response)
    sales.refresh_from_db()
    assert sales.name == "Support"
    renamed = ("renamed", "voice_agent", {"id": sales.pk, "name": "Sales"}, {"id": sales.pk, "name": "Support"})
    assert events_of(number.pk)[-1] == (*renamed, *STAFF)
    assert events_of(second.pk)[-1] == (*renamed, *STAFF)
    assert [row[0] for row in events_of(idle.pk)] == ["created"]


def test_changing_only_an_agents_description_records_nothing(staff_client, number, sales):
    response = staff_client.post(
        f"/admin/agents_app/voiceagent/{sales.pk}/change/", {"name": "Sales", "description": "New words"}
    )

    assert response.status_code == 302, html(response)
    assert [row[0] for row in events_of(number.pk)] == ["created"]


def test_renaming_a_text_agent_records_renamed_on_its_numbers(staff_client, account, make_text_agent):
    chat = make_text_agent(account, "Chat")
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123", text_agent=chat)

    response = staff_client.post(f"/admin/agents_app/textagent/{chat.pk}/change/", {"name": "SMS", "description": ""})

    assert response.status_code == 302, html(response)
    assert events_of(number.pk)[-1] == (
        "renamed",
        "text_agent",
        {"id": chat.pk, "name": "Chat"},
        {"id": chat.pk, "name": "SMS"},
        *STAFF,
    )


def test_deleting_a_voice_agent_records_unassigned_on_its_numbers(staff_client, number, sales):
    response = staff_client.post(f"/admin/agents_app/voiceagent/{sales.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    number.refresh_from_db()
    assert number.voice_agent_id is None
    assert events_of(number.pk)[-1] == ("unassigned", "voice_agent", named(sales), None, *STAFF)


def test_deleting_selected_trunks_records_unassigned_on_their_numbers(staff_client, account, make_trunk):
    edge = make_trunk(account, "Edge")
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123", trunk=edge)

    response = staff_client.post(
        "/admin/numbers_app/siptrunk/", {"action": "delete_selected", "_selected_action": [edge.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert events_of(number.pk)[-1] == ("unassigned", "trunk", named(edge), None, *STAFF)


def test_renaming_a_trunk_records_renamed_on_its_numbers(staff_client, account, make_trunk):
    edge = make_trunk(account, "Edge")
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550123", trunk=edge)

    response = staff_client.post(
        f"/admin/numbers_app/siptrunk/{edge.pk}/change/",
        {
            "name": "Edge EU",
            "direction": edge.direction,
            "auth_type": edge.auth_type,
            "host": edge.host,
            "port": str(edge.port),
            "username": edge.username,
            "password": "",
            "outbound_server": edge.outbound_server,
        },
    )

    assert response.status_code == 302, html(response)
    assert events_of(number.pk)[-1] == (
        "renamed",
        "trunk",
        {"id": edge.pk, "name": "Edge"},
        {"id": edge.pk, "name": "Edge EU"},
        *STAFF,
    )


def test_admin_changes_show_on_the_accounts_activity_page(staff_client, owner, number):
    staff_client.post(f"{NUMBERS}{number.pk}/change/", change_data(number, status="inactive"))
    operator = Client()
    operator.force_login(owner)

    response = operator.get("/activity/", {"channel": "admin"})

    assert response.status_code == 200
    assert [(e.action, e.actor_name, e.get_channel_display()) for e in response.context["page"]] == [
        ("deactivated", "root", "Admin")
    ]
    assert "<td>Admin</td>" in html(response)
