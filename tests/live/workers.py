"""Real `manage.py worker` processes for the fault tests, a throwaway PostgreSQL server to
take away from under them, and plain SQL on the database they share (the test process's own
Django database is another one)."""

import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import dj_database_url

from .servers import BIN, PROJECT, free_port

# Short clocks, so that a dead worker is noticed in seconds rather than half a minute.
FAST_CLOCKS = {
    "TASKS_HEARTBEAT_SECONDS": "0.5",
    "TASKS_WORKER_LOST_SECONDS": "3",
    "TASKS_NO_WORKER_SECONDS": "2",
    "TASKS_SCHEDULE_SECONDS": "0.5",
    "TASKS_REAP_SECONDS": "1",
}


class WorkerProcess:
    def __init__(self, env: dict, log: Path, worker_id: str):
        self.log = log
        self.worker_id = worker_id
        self._log_file = open(log, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "python"), "manage.py", "worker", "--interval", "0.1", "--worker-id", worker_id],
            cwd=PROJECT,
            env={**FAST_CLOCKS, **env},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the host dies or the OOM killer strikes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self._log_file.closed:
            self._log_file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def workers(env: dict, tmp_path: Path, count: int = 1, prefix: str = "w"):
    started = [WorkerProcess(env, tmp_path / f"{prefix}{n}.log", f"{prefix}{n}") for n in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one SQL statement on the shared database (%s placeholders)."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=20) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg

    config = dj_database_url.parse(database_url)
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname=config["NAME"], autocommit=True
    ) as connection:
        return connection.execute(sql, params).fetchall()


def wait_until(condition, timeout: float, message: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (after {timeout} s)")
        time.sleep(interval)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class ThrowawayPostgres:
    """A PostgreSQL server of its own (initdb into a temporary folder, a free port, run as
    the postgres user), so that a test can stop it: never the machine's shared server."""

    def __init__(self):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="kalem-pg-"))
        self.data = self.folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def throwaway_postgres():
    if not (PG_BIN / "initdb").exists():
        import pytest

        pytest.skip("PostgreSQL 15's binaries are not installed")
    server = ThrowawayPostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()
