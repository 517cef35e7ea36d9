"""GET /api/v1/numbers/export.csv and the dashboard's Export CSV (issue: operator power
features, part 3, export)."""

import csv
import io

import pytest

URL = "/api/v1/numbers/export.csv"


def rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def listed(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    agent, text, trunk = (
        make_voice_agent(account, "Sales"),
        make_text_agent(account, 'SMS, "quoted"'),
        make_trunk(account, "Edge"),
    )
    first = make_number(account, number="+15550000001", voice_agent=agent, trunk=trunk)
    second = make_number(account, number="+15550000002", provider="twilio", status="inactive", text_agent=text)
    make_number(other_account, number="+15550000003")
    return first, second


def test_it_streams_the_accounts_numbers_as_csv_with_names(api, listed):
    response = api.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    assert rows(response) == [
        ["number", "provider", "voice_agent", "text_agent", "trunk", "status"],
        ["+15550000001", "manual", "Sales", "", "Edge", "active"],
        ["+15550000002", "twilio", "", 'SMS, "quoted"', "", "inactive"],
    ]


def test_it_takes_the_lists_filters(api, listed):
    response = api.get(URL, {"status": "inactive"})
    assert [row[0] for row in rows(response)[1:]] == ["+15550000002"]


def test_an_invalid_filter_is_a_422(api, listed):
    response = api.get(URL, {"status": "bogus"})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["status"]


def test_it_needs_a_token(anonymous_api, db):
    assert anonymous_api.get(URL).status_code == 401


def test_the_dashboard_exports_the_filtered_list(client, owner, listed):
    client.force_login(owner)
    response = client.get("/numbers/export.csv", {"provider": "manual", "status": "bogus"})
    assert response.status_code == 200
    # The invalid filter is ignored, as the list page ignores it.
    assert [row[0] for row in rows(response)[1:]] == ["+15550000001"]


def test_the_list_page_links_to_the_export_with_its_filters(client, owner, listed):
    client.force_login(owner)
    response = client.get("/numbers/", {"status": "inactive"})
    assert 'href="/numbers/export.csv?status=inactive"' in response.content.decode()
