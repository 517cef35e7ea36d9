"""gunicorn's own answers (requests Django never sees) are JSON in the error envelope, never
its HTML page: a malformed request line, one too long, headers too large, and a head that
comes too slowly (kalem_site/gunicorn_worker.py)."""

import json
import socket
import time

import pytest

from .faults import App, raw_request
from .servers import gunicorn, manage, served_database, server_env


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn-errors")
    with served_database(tmp_path) as database_url:
        env = server_env(database_url, API_RATE_LIMIT="off", HEADER_TIMEOUT="1")
        manage(env, "migrate", "--no-input", "-v0")
        with gunicorn(env, workers=1, log=tmp_path / "gunicorn.log") as base:
            yield App(base, "", None, env)


def assert_envelope(answer, status: int, code: str) -> None:
    got_status, content_type, body = answer
    assert got_status == status, body
    assert content_type == "application/json"
    assert json.loads(body)["error"]["code"] == code


@pytest.mark.parametrize(
    "head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /api/v1/numbers HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /api/v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/v1/numbers HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    ],
    ids=["no request line", "unknown HTTP version", "request line too long", "invalid header name"],
)
def test_a_malformed_request_gets_a_json_400(app, head):
    assert_envelope(raw_request(app, head), 400, "bad_request")


def test_headers_too_large_get_a_json_431(app):
    head = b"GET /api/v1/numbers HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    assert_envelope(raw_request(app, head), 431, "bad_request")


def test_a_head_that_comes_too_slowly_gets_a_json_408_and_is_closed(app):
    started = time.monotonic()
    answer = raw_request(app, b"GET /api/v1/numbers HTTP/1.1\r\nHost: x\r\n")
    assert_envelope(answer, 408, "bad_request")
    assert time.monotonic() - started < 4  # HEADER_TIMEOUT=1, checked at least once a second


def test_a_head_sent_in_pieces_within_the_deadline_is_served(app):
    host, port = app.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for piece in (b"GET /api/v1/numbers HT", b"TP/1.1\r\nHost: 127.0.0.1\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    # No token: the API's own 401, from Django.
    assert received.startswith(b"HTTP/1.1 401 ")
    assert json.loads(received.partition(b"\r\n\r\n")[2])["error"]["code"] == "unauthenticated"
