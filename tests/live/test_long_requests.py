"""Regressions from fuzzing that only a real server shows: a long request line reaches Django
(and gets a JSON answer) instead of gunicorn's HTML 400."""

import json
import urllib.error
import urllib.request

from .servers import gunicorn, manage, served_database, server_env


def fetch(url: str, token: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_a_long_query_string_gets_a_json_answer(tmp_path):
    with served_database(tmp_path) as database_url:
        env = server_env(database_url, API_RATE_LIMIT="off")
        manage(env, "migrate", "--no-input", "-v0")
        token = manage(env, "createtoken", "--account", "Live", "--name", "Long").strip().splitlines()[-1]
        with gunicorn(env, workers=1, log=tmp_path / "gunicorn.log") as base:
            # ~6 KB of repeated, invalid per_page values, as the fuzzer sent them.
            status, content_type, body = fetch(f"{base}/api/v1/numbers?" + "&".join(["per_page=abc"] * 500), token)
            many_status, _, many_body = fetch(
                f"{base}/api/v1/numbers?" + "&".join(f"p{i}=1" for i in range(1100)), token
            )
    assert status == 422
    assert content_type == "application/json"
    assert list(json.loads(body)["error"]["fields"]) == ["per_page"]
    # More parameters than Django accepts: its 400, in the envelope.
    assert many_status == 400
    assert json.loads(many_body)["error"]["code"] == "bad_request"
