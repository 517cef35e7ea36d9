"""The rate limit holds exactly across gunicorn workers (counted in the database) and across
gunicorn instances (counted in Redis)."""

import os
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from .servers import get, gunicorn, manage, served_database, server_env

LIMIT = 20
REQUESTS = 60


def wait_for_a_fresh_window(period: int = 3600, margin: int = 30) -> None:
    """Fixed windows: make sure all requests fall into one."""
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 1)


def fire(urls: list[str], token: str) -> Counter:
    with ThreadPoolExecutor(max_workers=12) as pool:
        return Counter(pool.map(lambda url: get(url, token), urls))


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_the_limit_holds_exactly_across_three_workers(tmp_path):
    with served_database(tmp_path) as database_url:
        env = server_env(database_url, API_RATE_LIMIT=f"{LIMIT}/hour")
        manage(env, "migrate", "--no-input", "-v0")
        token = manage(env, "createtoken", "--account", "Live", "--name", "Rate").strip().splitlines()[-1]
        with gunicorn(env, workers=3, log=tmp_path / "gunicorn.log") as base:
            wait_for_a_fresh_window()
            statuses = fire([f"{base}/api/v1/numbers"] * REQUESTS, token)
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT})


def test_the_limit_holds_exactly_across_two_instances_sharing_redis(tmp_path):
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    with served_database(tmp_path) as database_url:
        env = server_env(database_url, API_RATE_LIMIT=f"{LIMIT}/hour", REDIS_URL="redis://127.0.0.1:6379/15")
        manage(env, "migrate", "--no-input", "-v0")
        token = manage(env, "createtoken", "--account", "Live", "--name", "Rate").strip().splitlines()[-1]
        with (
            gunicorn(env, workers=2, log=tmp_path / "first.log") as first,
            gunicorn(env, workers=2, log=tmp_path / "second.log") as second,
        ):
            wait_for_a_fresh_window()
            urls = [f"{(first, second)[index % 2]}/api/v1/numbers" for index in range(REQUESTS)]
            statuses = fire(urls, token)
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT})
