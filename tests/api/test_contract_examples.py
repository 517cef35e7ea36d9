"""Every curl example of docs/API.md, verbatim, with only the host, the token and the ids
replaced. Sections 1 to 7 of docs/API.md are the API contract as it was handed over (the
contract's own examples are the first four); the rest are this service's decisions.

Each example is parsed the way curl reads it (-X, -G, -H, -d, --data-urlencode, the URL) and
sent through Django's test client, so a change to the API that breaks a documented call breaks
this file."""

import json
import re
import shlex
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber
from tests.contract import NUMBER_KEYS, TIMESTAMP

pytestmark = pytest.mark.django_db

API_MD = Path(__file__).resolve().parents[2] / "docs" / "API.md"

# Copied character for character from docs/API.md (section 4, the contract's examples).
LIST_EXAMPLE = """\
curl -X GET "http://localhost:8000/api/v1/numbers?status=active" \\
  -H "Authorization: Bearer YOUR_API_TOKEN" \\
  -H "Accept: application/json"
"""

CREATE_EXAMPLE = """\
curl -X POST http://localhost:8000/api/v1/numbers \\
  -H "Authorization: Bearer YOUR_API_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"number": "+15551234567", "provider": "manual", "voice_agent_id": 1, "trunk_id": 1}'
"""

UPDATE_EXAMPLE = """\
curl -X PUT http://localhost:8000/api/v1/numbers/1 \\
  -H "Authorization: Bearer YOUR_API_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"voice_agent_id": 2}'
"""

DEACTIVATE_EXAMPLE = """\
curl -X POST http://localhost:8000/api/v1/numbers/deactivate \\
  -H "Authorization: Bearer YOUR_API_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"number": "+15551234567"}'
"""

# Copied character for character from docs/API.md (section 9, Lookup).
LOOKUP_EXAMPLE = """\
curl -G "http://localhost:8000/api/v1/numbers/lookup" --data-urlencode "number=+1 (555) 123-4567" \\
  -H "Authorization: Bearer YOUR_API_TOKEN"
"""

# Copied character for character from docs/API.md (section 10, Bulk by filter).
BULK_FILTER_EXAMPLE = """\
curl -X POST http://localhost:8000/api/v1/numbers/bulk \\
  -H "Authorization: Bearer YOUR_API_TOKEN" -H "Content-Type: application/json" \\
  -d '{"action": "assign", "filter": {"trunk_id": 3}, "trunk_id": 7}'
"""

CONTRACT_EXAMPLES = [LIST_EXAMPLE, CREATE_EXAMPLE, UPDATE_EXAMPLE, DEACTIVATE_EXAMPLE]
EXAMPLES = [*CONTRACT_EXAMPLES, LOOKUP_EXAMPLE, BULK_FILTER_EXAMPLE]


def substitute(example: str, token: str, *replacements: tuple[str, str]) -> str:
    """The example with the host, the token and each documented id replaced. Every
    replacement must match exactly once, so the example cannot drift unnoticed."""
    pairs = [("localhost:8000", "testserver"), ("YOUR_API_TOKEN", token), *replacements]
    for old, new in pairs:
        assert example.count(old) == 1, (old, example)
        example = example.replace(old, new)
    return example


def run_curl(command: str, client: Client | None = None):
    """Send a curl command line through the test client as curl would send it."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl", words
    method, url, data, headers, get = None, None, [], {}, False
    words = iter(words[1:])
    for word in words:
        if word in ("-X", "--request"):
            method = next(words)
        elif word in ("-G", "--get"):
            get = True
        elif word in ("-H", "--header"):
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data"):
            data.append(next(words))
        elif word == "--data-urlencode":
            # name=content: curl percent-encodes the content, all but A-Z a-z 0-9 - . _ ~
            name, _, content = next(words).partition("=")
            data.append(f"{name}={quote(content, safe='')}")
        elif word.startswith("-"):
            raise AssertionError(f"run_curl() does not know {word}")
        else:
            assert url is None, "one URL per example"
            url = word
    body = "&".join(data) if data else None
    if get:  # -G: the data goes into the query string of a GET
        assert method is None, "-G with -X"
        url, body, method = url + ("&" if "?" in url else "?") + (body or ""), None, "GET"
    method = method or ("POST" if body is not None else "GET")
    parts = urlsplit(url)
    headers.setdefault("Host", parts.netloc)
    headers.setdefault("Accept", "*/*")
    # curl's default for -d; the examples override it with -H.
    content_type = headers.pop("Content-Type", "application/x-www-form-urlencoded")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    client = client or Client(enforce_csrf_checks=True)  # curl sends no CSRF token
    return client.generic(
        method,
        path,
        data=(body or "").encode(),
        content_type=content_type,
        headers=headers,
        secure=parts.scheme == "https",
    )


def assert_number_object(row: dict) -> None:
    assert list(row) == NUMBER_KEYS
    assert TIMESTAMP.fullmatch(row["created_at"]) and TIMESTAMP.fullmatch(row["updated_at"]), row


@pytest.fixture
def token(account) -> str:
    return token_create(account=account, name="Integration").plaintext


@pytest.fixture
def sales(account, make_voice_agent):
    return make_voice_agent(account, "Sales Agent")


@pytest.fixture
def support(account, make_voice_agent):
    return make_voice_agent(account, "Support Agent")


@pytest.fixture
def trunk(account, make_trunk):
    return make_trunk(account, "Primary Trunk")


def test_this_file_holds_every_curl_example_of_api_md():
    text = API_MD.read_text()
    contract, _ = text.split("\n## 8. Decisions of this implementation\n")
    curls = [block for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if block.startswith("curl ")]
    assert curls == EXAMPLES
    assert [example for example in EXAMPLES if example in contract] == CONTRACT_EXAMPLES


def test_the_parser_reads_the_examples_like_curl_does():
    words = shlex.split(CREATE_EXAMPLE.replace("\\\n", " "))
    assert words[:3] == ["curl", "-X", "POST"]
    assert words[-1] == '{"number": "+15551234567", "provider": "manual", "voice_agent_id": 1, "trunk_id": 1}'


def test_the_list_example(token, account, make_number):
    active = make_number(account, status="active")
    make_number(account, status="inactive")
    response = run_curl(substitute(LIST_EXAMPLE, token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert [row["id"] for row in body["data"]] == [active.id]
    assert_number_object(body["data"][0])
    assert body["links"]["first"] == "http://testserver/api/v1/numbers?status=active&page=1"
    assert body["meta"]["path"] == "http://testserver/api/v1/numbers"
    assert body["meta"]["total"] == 1


def test_the_create_example(token, account, sales, trunk):
    command = substitute(
        CREATE_EXAMPLE,
        token,
        ('"voice_agent_id": 1', f'"voice_agent_id": {sales.id}'),
        ('"trunk_id": 1', f'"trunk_id": {trunk.id}'),
    )
    response = run_curl(command)
    assert response.status_code == 201
    body = response.json()
    assert_number_object(body)
    assert body | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "number": "+15551234567",
        "provider": "manual",
        "status": "active",
        "voice_agent_id": sales.id,
        "voice_agent_name": "Sales Agent",
        "text_agent_id": None,
        "text_agent_name": None,
        "trunk_id": trunk.id,
        "trunk_name": "Primary Trunk",
        "created_at": "",
        "updated_at": "",
    }
    assert response["Location"] == f"http://testserver/api/v1/numbers/{body['id']}"
    row = PhoneNumber.objects.get(pk=body["id"])
    assert (row.account_id, row.number, row.voice_agent_id, row.trunk_id) == (
        account.id,
        "+15551234567",
        sales.id,
        trunk.id,
    )


def test_the_update_example(token, account, make_number, sales, support, trunk):
    number = make_number(account, "+15551234567", voice_agent=sales, trunk=trunk)
    command = substitute(
        UPDATE_EXAMPLE,
        token,
        ("/api/v1/numbers/1 ", f"/api/v1/numbers/{number.id} "),
        ('"voice_agent_id": 2', f'"voice_agent_id": {support.id}'),
    )
    response = run_curl(command)
    assert response.status_code == 200
    body = response.json()
    assert_number_object(body)
    assert body["id"] == number.id
    assert (body["voice_agent_id"], body["voice_agent_name"]) == (support.id, "Support Agent")
    assert body["trunk_id"] == trunk.id  # not sent, so unchanged
    number.refresh_from_db()
    assert (number.voice_agent_id, number.trunk_id) == (support.id, trunk.id)


def test_the_deactivate_example(token, account, make_number):
    number = make_number(account, "+15551234567", status="active")
    response = run_curl(substitute(DEACTIVATE_EXAMPLE, token))
    assert response.status_code == 200
    body = response.json()
    assert_number_object(body)
    assert (body["id"], body["number"], body["status"]) == (number.id, "+15551234567", "inactive")
    number.refresh_from_db()
    assert number.status == "inactive"


def test_the_lookup_example(token, account, make_number, sales, trunk):
    number = make_number(account, "+15551234567", status="active", voice_agent=sales, trunk=trunk)
    response = run_curl(substitute(LOOKUP_EXAMPLE, token))
    assert response.status_code == 200
    assert response.wsgi_request.GET["number"] == "+1 (555) 123-4567"
    body = response.json()
    assert list(body) == [*NUMBER_KEYS, "routable", "reasons"]
    assert_number_object({key: body[key] for key in NUMBER_KEYS})
    assert (body["id"], body["number"], body["routable"], body["reasons"]) == (number.id, "+15551234567", True, [])


def test_the_bulk_filter_example(token, account, make_number, make_trunk, trunk):
    new = make_trunk(account, "New Trunk")
    moved = [make_number(account, trunk=trunk) for _ in range(2)]
    kept = make_number(account)
    response = run_curl(
        substitute(
            BULK_FILTER_EXAMPLE,
            token,
            ('"trunk_id": 3}', f'"trunk_id": {trunk.id}}}'),
            ('"trunk_id": 7}', f'"trunk_id": {new.id}}}'),
        )
    )
    assert response.status_code == 200, response.json()
    assert response.json()["changed"] == 2
    assert set(PhoneNumber.objects.filter(trunk=new).values_list("id", flat=True)) == {n.id for n in moved}
    kept.refresh_from_db()
    assert kept.trunk is None


def test_the_examples_work_one_after_another(token, account, sales, support, trunk):
    """An integration following the document from top to bottom."""
    created = run_curl(
        substitute(
            CREATE_EXAMPLE,
            token,
            ('"voice_agent_id": 1', f'"voice_agent_id": {sales.id}'),
            ('"trunk_id": 1', f'"trunk_id": {trunk.id}'),
        )
    )
    assert created.status_code == 201
    number_id = created.json()["id"]

    listed = run_curl(substitute(LIST_EXAMPLE, token))
    assert [row["id"] for row in listed.json()["data"]] == [number_id]

    updated = run_curl(
        substitute(
            UPDATE_EXAMPLE,
            token,
            ("/api/v1/numbers/1 ", f"/api/v1/numbers/{number_id} "),
            ('"voice_agent_id": 2', f'"voice_agent_id": {support.id}'),
        )
    )
    assert updated.status_code == 200
    assert updated.json()["voice_agent_id"] == support.id

    deactivated = run_curl(substitute(DEACTIVATE_EXAMPLE, token))
    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "inactive"

    assert run_curl(substitute(LIST_EXAMPLE, token)).json()["data"] == []
    assert PhoneNumber.objects.get(pk=number_id).status == "inactive"


def test_the_examples_cannot_reach_another_accounts_number(token, other_account, make_number, support):
    foreign = make_number(other_account, "+15551234567", status="active")
    deactivated = run_curl(substitute(DEACTIVATE_EXAMPLE, token))
    assert deactivated.status_code == 404
    assert deactivated.json()["error"]["code"] == "not_found"
    updated = run_curl(
        substitute(
            UPDATE_EXAMPLE,
            token,
            ("/api/v1/numbers/1 ", f"/api/v1/numbers/{foreign.id} "),
            ('"voice_agent_id": 2', f'"voice_agent_id": {support.id}'),
        )
    )
    assert updated.status_code == 404
    assert updated.json()["error"]["code"] == "not_found"
    foreign.refresh_from_db()
    assert (foreign.status, foreign.voice_agent_id) == ("active", None)


def test_an_example_with_a_wrong_token_is_401(account):
    response = run_curl(substitute(LIST_EXAMPLE, "klm_not-a-real-token"))
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["code"] == "unauthenticated"
