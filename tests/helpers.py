"""Helpers shared by every suite: fresh numbers, API clients and calls, the API's error
envelope, counting queries, the mixed CSV import, and reading dashboard pages. What the
objects look like is in tests/contract.py; the audit timeline's helpers are in tests/audit.py;
fixtures are in the root conftest.py."""

import html as html_lib
import itertools
import re
from contextlib import contextmanager
from urllib.parse import quote

from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import events_of
from tests.contract import NUMBERS_URL, number_url

_serial = itertools.count(1)


def serial() -> int:
    """A number no other call of this test run gets, for unique names and numbers."""
    return next(_serial)


def next_e164() -> str:
    """A fresh, possible US number for each call."""
    return f"+1555{serial():07d}"


# --- the API ---------------------------------------------------------------------------------


def client_for(plaintext: str) -> APIClient:
    """An API client that sends this token as its bearer."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def create_number(api, number: str = "+14155550123", **fields) -> int:
    """Create a number through the API (so that its audit names the client); its id."""
    response = api.post(NUMBERS_URL, {"number": number, **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def put_number(api, pk: int, body: dict) -> None:
    """Update a number through the API."""
    response = api.put(number_url(pk), body, format="json")
    assert response.status_code == 200, response.json()


def assert_error(response, status: int, code: str) -> dict:
    """The response is JSON, has exactly `status`, and its body is the error envelope with
    `code`. Returns the `error` object for further checks."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    expected_keys = {"code", "message", "fields"} if code == "validation_error" else {"code", "message"}
    assert set(error) == expected_keys, error
    return error


def assert_validation_error(response, *fields: str) -> dict:
    """A 422 in the envelope whose `fields` names exactly these fields, each with at least one
    message; returns `fields`."""
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == "The given data was invalid."
    assert sorted(error["fields"]) == sorted(fields), error["fields"]
    for messages in error["fields"].values():
        assert messages and all(isinstance(message, str) and message for message in messages)
    return error["fields"]


_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def queries():
    """The statements run inside the block, as production runs them: `.statements` leaves out
    the test transaction's savepoints (autocommit in production sends BEGIN/COMMIT on the
    connection, not as queries)."""
    with CaptureQueriesContext(connection) as context:
        yield context
    context.statements = [q["sql"] for q in context.captured_queries if not q["sql"].startswith(_TRANSACTION_CONTROL)]


# --- the CSV import --------------------------------------------------------------------------

IMPORT_HEADER = "number,provider,voice_agent,text_agent,trunk,status\n"

# Against the `mixed_import` fixture: one create, one update, one unchanged, one error.
MIXED_CSV = (
    IMPORT_HEADER + "+1 (415) 555-0100,twilio,Sales,,Edge,\n"
    "+15550000001,,,,,inactive\n"
    "+15550000002,manual,,,,active\n"
    "not-a-number,,,,,\n"
)


def assert_mixed_import_not_applied(mixed_import) -> None:
    """MIXED_CSV was only dry-run: nothing created, changed or recorded."""
    _, edge, on_edge, _ = mixed_import
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()
    on_edge.refresh_from_db()
    assert (on_edge.status, on_edge.trunk) == ("active", edge)
    assert not NumberEvent.objects.exists()


def assert_mixed_import_applied(account, mixed_import, actor: tuple[str, str, str]) -> None:
    """MIXED_CSV was imported into `account` by `actor` (actor_type, actor_name, channel): the
    new number created, the number on Edge updated, the other one untouched, and each change
    on the timeline."""
    sales, edge, on_edge, plain = mixed_import
    created = PhoneNumber.objects.get(number="+14155550100")
    assert created.account == account
    assert (created.provider, created.status) == ("twilio", "active")
    assert (created.voice_agent, created.text_agent, created.trunk) == (sales, None, edge)
    on_edge.refresh_from_db()
    assert (on_edge.status, on_edge.trunk) == ("inactive", None)
    assert events_of(created.pk) == [
        (
            "created",
            "",
            None,
            {
                "status": "active",
                "provider": "twilio",
                "voice_agent": {"id": sales.pk, "name": "Sales"},
                "text_agent": None,
                "trunk": {"id": edge.pk, "name": "Edge"},
            },
            *actor,
        )
    ]
    assert events_of(on_edge.pk) == [
        ("deactivated", "status", "active", "inactive", *actor),
        ("unassigned", "trunk", {"id": edge.pk, "name": "Edge"}, None, *actor),
    ]
    assert events_of(plain.pk) == []


# --- dashboard pages -------------------------------------------------------------------------


def html(response) -> str:
    return response.content.decode()


def flashes(response) -> list[str]:
    """The flash messages queued by the request (not yet shown), as text."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def assert_login_redirect(response, path: str) -> None:
    """Anonymous visitors are sent to the sign-in page, which brings them back afterwards."""
    assert response.status_code == 302, response.content
    assert response["Location"] == f"/login/?next={quote(path)}"


def field_errors(response, field: str) -> list[str]:
    """The errors a form page shows for `field`, as text: those rendered inside the field's
    own block (templates/form_fields.html), right under its label and input."""
    match = re.search(
        rf'<div class="field has-error">\s*<label for="id_{field}">[^<]*</label>\s*<[^>]+name="{field}".*?'
        rf'<ul class="errorlist" id="id_{field}_errors">(.*?)</ul>',
        html(response),
        re.S,
    )
    return [html_lib.unescape(error) for error in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


# A trunk password written only to be looked for: no page may show it.
TRUNK_PASSWORD = "Tr0ub4dor&3-never-shown"


def trunk_form_data(trunk, **changes) -> dict:
    """What a trunk's edit form (the dashboard's or the admin's) posts back for this trunk,
    with `changes`; the password field starts empty."""
    data = {
        "name": trunk.name,
        "direction": trunk.direction,
        "auth_type": trunk.auth_type,
        "host": trunk.host,
        "port": str(trunk.port),
        "username": trunk.username,
        "password": "",
        "outbound_server": trunk.outbound_server,
    }
    return {**data, **changes}


def fill_account(account, rows, make_number, make_voice_agent, make_text_agent, make_trunk) -> None:
    """`rows` numbers, each with its own agents and trunk, so that every column and every
    filter choice has something different to show."""
    for _ in range(rows):
        make_number(
            account,
            voice_agent=make_voice_agent(account),
            text_agent=make_text_agent(account),
            trunk=make_trunk(account),
        )
