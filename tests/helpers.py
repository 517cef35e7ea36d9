"""Helpers shared by every suite: fresh numbers, API clients, the API's error envelope, and
reading dashboard pages. What the objects look like is in tests/contract.py; the audit
timeline's helpers are in tests/audit.py; fixtures are in the root conftest.py."""

import html as html_lib
import itertools
import re
from urllib.parse import quote

from django.contrib.messages import get_messages
from rest_framework.test import APIClient

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
