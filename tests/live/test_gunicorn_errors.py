"""gunicorn's own answers (requests Django never sees) are JSON in the error envelope, never
its HTML page: a malformed request line, one too long, headers too large, and a head or a body
that comes too slowly (kalem_site/gunicorn_worker.py). Slow bodies hold sockets, not threads."""

import json
import socket
import time
import urllib.request

import pytest

from .faults import App, raw_request
from .servers import gunicorn, manage, served_database, server_env


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn-errors")
    with served_database(tmp_path) as database_url:
        env = server_env(database_url, API_RATE_LIMIT="off", HEADER_TIMEOUT="1", BODY_TIMEOUT="3", WEB_THREADS="4")
        manage(env, "migrate", "--no-input", "-v0")
        token = manage(env, "createtoken", "--account", "Errors", "--name", "Test").strip().splitlines()[-1]
        with gunicorn(env, workers=1, log=tmp_path / "gunicorn.log") as base:
            yield App(base, token, None, env)


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


def connect(app) -> socket.socket:
    host, port = app.base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def post_head(app, length: int) -> bytes:
    return (
        f"POST /api/v1/numbers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {app.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_stalled_bodies_do_not_hold_the_threads(app):
    # More stalled bodies than the worker has threads (1 worker × 4): each sent its whole head
    # and declared 100000 bytes, then nothing. Before, each held a thread for gunicorn's
    # `timeout` (30 s) and the normal requests below waited behind them.
    stalled = []
    try:
        for _ in range(10):
            sock = connect(app)
            sock.sendall(post_head(app, 100000) + b'{"e164": ')
            stalled.append(sock)
        time.sleep(0.3)
        latencies = []
        until = time.monotonic() + 2  # well within BODY_TIMEOUT=3 of the stalled sockets
        while time.monotonic() < until:
            started = time.monotonic()
            request = urllib.request.Request(
                f"{app.base}/api/v1/numbers?per_page=5",
                headers={"Authorization": f"Bearer {app.token}", "Connection": "close"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            latencies.append(time.monotonic() - started)
        latencies.sort()
        assert len(latencies) > 5
        assert latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] < 1.0, latencies
        # The stalled requests end with the JSON 408 at their deadline, not with a thread's.
        for sock in stalled:
            received = read_all(sock)
            assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    finally:
        for sock in stalled:
            sock.close()


def test_a_body_sent_in_pieces_within_the_deadline_is_served(app):
    body = b'{"e164": "not a number"}'
    pieces = [body[:8], body[8:16], body[16:]]
    with connect(app) as sock:
        sock.sendall(post_head(app, len(body)))
        for piece in pieces:  # 1.5 s in all: past HEADER_TIMEOUT=1, within BODY_TIMEOUT=3
            time.sleep(0.5)
            sock.sendall(piece)
        received = read_all(sock)
    # The whole body reached the API, which validated it (422 from Django, not gunicorn's 408).
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 422 Unprocessable Entity", received[:300]
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "validation_error", error


def test_a_body_that_comes_too_slowly_gets_a_json_408_and_is_closed(app):
    started = time.monotonic()
    answer = raw_request(app, post_head(app, 100) + b'{"e164": ')
    assert_envelope(answer, 408, "bad_request")
    assert "body" in json.loads(answer[2])["error"]["message"]
    assert 3 <= time.monotonic() - started < 6  # BODY_TIMEOUT=3, checked at least once a second


def test_a_declared_body_larger_than_the_app_takes_gets_a_json_413(app):
    answer = raw_request(app, post_head(app, 70 * 1024 * 1024))
    assert_envelope(answer, 413, "payload_too_large")
