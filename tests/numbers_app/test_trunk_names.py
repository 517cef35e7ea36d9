"""Trunk names are unique within an account (issue 15.5), as agent names are: the rule is the
database's (siptrunk_name_unique_per_account); the API, the dashboard and the admin answer it
as a field error on `name`, and migration 0012 renamed the duplicates there were."""

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from numbers_app import services
from numbers_app.models import NumberEvent, SipTrunk
from tests.helpers import assert_validation_error, field_errors, trunk_form_data

DUPLICATE = "A SIP trunk with this name already exists."
INBOUND_IP = {"name": "Primary Trunk", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1"}


def test_the_database_refuses_a_second_trunk_of_the_same_name_in_an_account(account, make_trunk):
    make_trunk(account, "Primary Trunk")

    with pytest.raises(IntegrityError):
        SipTrunk.objects.create(account=account, name="Primary Trunk", direction="inbound", auth_type="ip", host="h")


def test_the_api_answers_422_on_name_worded_as_for_agents(api, account, make_trunk):
    make_trunk(account, "Primary Trunk")

    response = api.post("/api/v1/trunks", {**INBOUND_IP, "name": "  Primary Trunk "}, format="json")

    assert assert_validation_error(response, "name") == {"name": [DUPLICATE]}
    assert SipTrunk.objects.filter(account=account).count() == 1


def test_renaming_a_trunk_to_a_taken_name_is_a_422_and_records_nothing(api, account, make_trunk, make_number):
    make_trunk(account, "Primary Trunk")
    other = make_trunk(account, "Backup")
    make_number(account, trunk=other)

    response = api.patch(f"/api/v1/trunks/{other.pk}", {"name": "Primary Trunk"}, format="json")

    assert assert_validation_error(response, "name") == {"name": [DUPLICATE]}
    other.refresh_from_db()
    assert other.name == "Backup"
    assert not NumberEvent.objects.filter(action=NumberEvent.Action.RENAMED).exists()


def test_names_differ_by_case_and_across_accounts(api, account, other_account, make_trunk):
    make_trunk(other_account, "Primary Trunk")
    make_trunk(account, "primary trunk")

    response = api.post("/api/v1/trunks", INBOUND_IP, format="json")

    assert response.status_code == 201
    assert SipTrunk.objects.filter(name="Primary Trunk").count() == 2


def test_saving_a_trunk_under_its_own_name_is_no_conflict(api, account, make_trunk):
    trunk = make_trunk(account, "Primary Trunk")

    response = api.patch(f"/api/v1/trunks/{trunk.pk}", {"name": "Primary Trunk", "port": 5070}, format="json")

    assert response.status_code == 200
    assert SipTrunk.objects.get(pk=trunk.pk).port == 5070


def test_a_race_lost_to_the_constraint_is_the_same_field_error(account, make_trunk, monkeypatch):
    """Another writer creates the name between the service's check and its INSERT."""
    monkeypatch.setattr(services, "_check_trunk_name", lambda trunk: make_trunk(account, trunk.name))

    with pytest.raises(services.ValidationError) as raised:
        services.trunk_create(account=account, **INBOUND_IP)

    assert raised.value.message_dict == {"name": [DUPLICATE]}


def test_the_dashboard_form_says_so_next_to_the_name(client, owner, account, make_trunk):
    make_trunk(account, "Primary Trunk")
    client.force_login(owner)

    response = client.post("/trunks/add/", {**INBOUND_IP, "port": "5060"})

    assert response.status_code == 200
    assert field_errors(response, "name") == [DUPLICATE]
    assert SipTrunk.objects.filter(account=account).count() == 1


def test_the_dashboard_edit_form_says_so_and_keeps_the_stored_name(client, owner, account, make_trunk):
    make_trunk(account, "Primary Trunk")
    other = make_trunk(account, "Backup")
    client.force_login(owner)

    response = client.post(f"/trunks/{other.pk}/", trunk_form_data(other, name="Primary Trunk"))

    assert response.status_code == 200
    assert field_errors(response, "name") == [DUPLICATE]
    assert "Edit Backup" in response.content.decode()
    assert SipTrunk.objects.get(pk=other.pk).name == "Backup"


def test_the_admin_says_so_on_add_and_on_change(staff_client, account, other_account, make_trunk):
    make_trunk(account, "Primary Trunk")
    other = make_trunk(account, "Backup")

    added = staff_client.post(
        "/admin/numbers_app/siptrunk/add/",
        {
            "account": str(account.pk),
            **INBOUND_IP,
            "port": "5060",
            "username": "",
            "password": "",
            "outbound_server": "",
        },
    )
    changed = staff_client.post(
        f"/admin/numbers_app/siptrunk/{other.pk}/change/", trunk_form_data(other, name="Primary Trunk")
    )
    elsewhere = staff_client.post(
        "/admin/numbers_app/siptrunk/add/",
        {
            "account": str(other_account.pk),
            **INBOUND_IP,
            "port": "5060",
            "username": "",
            "password": "",
            "outbound_server": "",
        },
    )

    assert added.status_code == 200
    assert added.context["adminform"].form.errors == {"name": [DUPLICATE]}
    assert changed.status_code == 200
    assert changed.context["adminform"].form.errors == {"name": [DUPLICATE]}
    assert SipTrunk.objects.get(pk=other.pk).name == "Backup"
    assert elsewhere.status_code == 302
    assert SipTrunk.objects.filter(account=other_account, name="Primary Trunk").exists()


# --- migration 0012 ---------------------------------------------------------------------------

ACCOUNTS = ("accounts", "0006_account_default_country")
BEFORE = [("numbers_app", "0011_number_event_days"), ACCOUNTS]
AFTER = [("numbers_app", "0012_trunk_name_unique_per_account"), ACCOUNTS]


@pytest.fixture
def migrator(transactional_db):
    """Migrations run backwards to 0011 and forward again, leaving the schema as it was."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    yield executor
    executor.loader.build_graph()
    executor.migrate(latest)


def test_the_migration_renames_duplicates_and_records_it_on_their_numbers(migrator):
    apps = migrator.loader.project_state(BEFORE).apps
    Account = apps.get_model("accounts", "Account")
    Trunk = apps.get_model("numbers_app", "SipTrunk")
    Number = apps.get_model("numbers_app", "PhoneNumber")
    acme, globex = Account.objects.create(name="Acme"), Account.objects.create(name="Globex")

    def trunk(account, name):
        return Trunk.objects.create(account=account, name=name, direction="inbound", auth_type="ip", host="h")

    first, second, third = trunk(acme, "Primary Trunk"), trunk(acme, "Primary Trunk"), trunk(acme, "Primary Trunk")
    taken = trunk(acme, "Primary Trunk (2)")  # an existing name the renames must skip
    long_a, long_b = trunk(acme, "x" * 100), trunk(acme, "x" * 100)
    alone = trunk(globex, "Primary Trunk")
    number = Number.objects.create(account=acme, number="+14155550100", trunk=second)

    migrator.migrate(AFTER)

    names = dict(SipTrunk.objects.values_list("pk", "name"))
    assert names[first.pk] == "Primary Trunk"
    assert names[second.pk] == "Primary Trunk (3)"
    assert names[third.pk] == "Primary Trunk (4)"
    assert names[taken.pk] == "Primary Trunk (2)"
    assert (names[long_a.pk], names[long_b.pk]) == ("x" * 100, "x" * 96 + " (2)")
    assert names[alone.pk] == "Primary Trunk"
    event = NumberEvent.objects.get(number_id=number.pk)
    assert (event.action, event.field, event.actor_name, event.channel) == ("renamed", "trunk", "migrate", "command")
    assert (event.before, event.after) == (
        {"id": second.pk, "name": "Primary Trunk"},
        {"id": second.pk, "name": "Primary Trunk (3)"},
    )
