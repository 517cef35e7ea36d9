"""SIP trunk digest passwords are encrypted at rest with CREDENTIALS_KEY, as Twilio credentials
are (issue 11, item 5): the database holds no plaintext, the SIP side reads it back with
sip_password(), and no answer, export or event shows it."""

import logging

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from kalem_site.accounts.crypto import TRUNK_KEY_MISSING_MESSAGE, CredentialsUnavailable
from numbers_app.models import NumberEvent, SipTrunk
from tests.helpers import assert_validation_error

URL = "/api/v1/trunks"
SECRET = "Sup3r-Secret-Digest-pw"
DIGEST = {"name": "Carrier", "direction": "inbound", "auth_type": "digest", "username": "kalem", "password": SECRET}


def stored_row(pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SipTrunk._meta.db_table} WHERE id = %s", [pk])
        columns = [column[0] for column in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_the_database_holds_no_plaintext_and_the_sip_side_reads_it_back(api):
    response = api.post(URL, DIGEST, format="json")

    assert response.status_code == 201, response.json()
    row = stored_row(response.json()["id"])
    assert "password" not in row
    assert not any(SECRET in str(value) for value in row.values())
    assert row["password_encrypted"].startswith("gAAAA")  # a Fernet token
    assert SipTrunk.objects.get(pk=row["id"]).sip_password() == SECRET


def test_a_new_password_is_encrypted_again_and_sending_the_same_one_changes_nothing(api):
    pk = api.post(URL, DIGEST, format="json").json()["id"]
    token, updated_at = SipTrunk.objects.filter(pk=pk).values_list("password_encrypted", "updated_at").get()

    assert api.patch(f"{URL}/{pk}", {"password": SECRET}, format="json").status_code == 200
    assert SipTrunk.objects.filter(pk=pk).values_list("password_encrypted", "updated_at").get() == (token, updated_at)

    assert api.patch(f"{URL}/{pk}", {"password": "An0ther-pw"}, format="json").status_code == 200
    trunk = SipTrunk.objects.get(pk=pk)
    assert trunk.password_encrypted != token
    assert trunk.sip_password() == "An0ther-pw"


def test_reading_the_password_attribute_fails_so_nothing_can_show_it_by_accident(account, make_trunk):
    trunk = make_trunk(account, auth_type="digest", username="kalem", password=SECRET)

    with pytest.raises(AttributeError, match="write-only"):
        trunk.password  # noqa: B018


def test_no_answer_export_event_or_log_line_holds_it(api, caplog, make_number, account):
    caplog.set_level(logging.DEBUG)
    pk = api.post(URL, DIGEST, format="json").json()["id"]
    make_number(account, trunk=SipTrunk.objects.get(pk=pk))
    answers = [
        api.get(f"{URL}/{pk}"),
        api.get(URL),
        api.patch(f"{URL}/{pk}", {"name": "Renamed", "password": SECRET + "2"}, format="json"),
        api.get("/api/v1/numbers/export.csv"),
        api.post(URL, {**DIGEST, "port": "not a port"}, format="json"),  # an error answer
    ]

    for answer in answers:
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        assert answer.status_code in (200, 422)
        assert SECRET.encode() not in body
    assert NumberEvent.objects.filter(field="trunk").exists()  # the rename was recorded…
    assert not any(SECRET in str(event.before) + str(event.after) for event in NumberEvent.objects.all())
    assert SECRET not in caplog.text  # …and nothing logged the password


@override_settings(CREDENTIALS_KEY="")
def test_without_a_key_a_password_is_refused_with_the_reason_and_ip_trunks_still_work(api):
    response = api.post(URL, DIGEST, format="json")

    assert_validation_error(response, "password")
    assert response.json()["error"]["fields"]["password"] == [TRUNK_KEY_MISSING_MESSAGE]
    assert not SipTrunk.objects.exists()
    ip_trunk = {"name": "Office", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1"}
    assert api.post(URL, ip_trunk, format="json").status_code == 201


def test_a_password_stored_under_another_key_is_reported_not_a_crash(account, make_trunk):
    trunk = make_trunk(account, auth_type="digest", username="kalem", password=SECRET)

    with override_settings(CREDENTIALS_KEY="ZmRzZmRzZmRzZmRzZmRzZmRzZmRzZmRzZmRzZmRzZmQ="):
        with pytest.raises(CredentialsUnavailable, match="another CREDENTIALS_KEY"):
            trunk.sip_password()


# The migration


BEFORE = [("numbers_app", "0008_background_jobs")]
AFTER = [("numbers_app", "0009_trunk_password_encrypted")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_passwords(account):
    old = migrate(BEFORE)
    OldTrunk = old.get_model("numbers_app", "SipTrunk")
    digest = OldTrunk.objects.create(
        account_id=account.pk,
        name="Carrier",
        direction="inbound",
        auth_type="digest",
        username="kalem",
        password=SECRET,
    )
    ip = OldTrunk.objects.create(
        account_id=account.pk, name="Office", direction="inbound", auth_type="ip", host="10.0.0.1"
    )
    try:
        migrate(AFTER)

        assert not any(SECRET in str(value) for value in stored_row(digest.pk).values())
        assert SipTrunk.objects.get(pk=digest.pk).sip_password() == SECRET
        assert stored_row(ip.pk)["password_encrypted"] == ""

        # And back: the plaintext column again, filled from the tokens.
        OldTrunk = migrate(BEFORE).get_model("numbers_app", "SipTrunk")
        assert OldTrunk.objects.get(pk=digest.pk).password == SECRET
    finally:
        migrate(migrate_latest())


@pytest.mark.django_db(transaction=True)
def test_without_a_key_the_migration_refuses_to_run_and_says_what_to_set(account):
    OldTrunk = migrate(BEFORE).get_model("numbers_app", "SipTrunk")
    OldTrunk.objects.create(
        account_id=account.pk,
        name="Carrier",
        direction="inbound",
        auth_type="digest",
        username="kalem",
        password=SECRET,
    )
    try:
        with override_settings(CREDENTIALS_KEY=""), pytest.raises(RuntimeError, match="Set CREDENTIALS_KEY"):
            migrate(AFTER)
        assert OldTrunk.objects.get().password == SECRET  # nothing was changed
    finally:
        OldTrunk.objects.all().delete()
        migrate(migrate_latest())


def migrate_latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
