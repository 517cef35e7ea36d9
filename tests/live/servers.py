"""Real gunicorn servers of this project, for tests that need several processes: each test
gets its own database (a SQLite file, or a fresh PostgreSQL database when the suite runs on
PostgreSQL) that the servers share."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import dj_database_url

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served_database(tmp_path: Path):
    """A DATABASE_URL for a new, migrated database, dropped afterwards."""
    suite_url = os.environ.get("DATABASE_URL", "")
    if suite_url.startswith("postgres"):
        import psycopg

        config = dj_database_url.parse(suite_url)
        name = f"kalem_live_{uuid.uuid4().hex[:10]}"
        admin = dict(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"] or None,
            dbname=config["NAME"],
        )
        with psycopg.connect(**admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield suite_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with psycopg.connect(**admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'live.sqlite3'}"


def server_env(database_url: str, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "REDIS_URL"}}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONPATH": str(PROJECT),
            **extra,
        }
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def gunicorn(env: dict, *, workers: int, log: Path):
    """A running gunicorn with production settings; yields its base URL. Its output goes to
    `log` (a pipe could fill up and stall the server)."""
    port = free_port()
    log_file = open(log, "ab")
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "kalem_site.wsgi",
            "-c",
            "gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            "/dev/null",
        ],
        cwd=PROJECT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/", timeout=2)
            except urllib.error.HTTPError:
                break  # any HTTP answer (here a JSON 404) means it is serving
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


def get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
