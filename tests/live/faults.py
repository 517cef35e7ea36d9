"""Fault experiments on a real deployment: throwaway PostgreSQL and Redis servers (never the
machine's shared ones), a gunicorn of a checkout of this project, bounded load, and the
outages themselves (stop and freeze). Used by tests/live/test_outages.py and, to print the
before/after tables, by bench/outage.py.

Everything is bounded: a fixed number of load threads, a deadline for each scenario, client
timeouts on every request, and 127.0.0.1 only."""

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
RATE_LIMIT = 1_000_000  # per hour: the load never meets it, but every request is counted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tools_available() -> str | None:
    """Why the experiments cannot run here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL binaries not found in {PG_BIN}"
    if shutil.which("redis-server") is None:
        return "redis-server not found"
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class Postgres:
    """A PostgreSQL cluster made with initdb in a temporary directory, on a free port."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "postgres.log"
        self.frozen: list[int] = []

    def run(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / args[0]), *args[1:]]), check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=60"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *_children(postmaster)]

    def freeze(self) -> None:
        self.frozen = self.pids()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self.frozen):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "kalem"):
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)


class Redis:
    """A redis-server on a free port, without persistence."""

    def __init__(self, root: Path):
        self.port = free_port()
        self.log = root / "redis.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def dependencies():
    """A fresh PostgreSQL cluster (with a database `kalem`) and Redis, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="kalem-faults-"))
    postgres, redis = Postgres(root), Redis(root)
    try:
        postgres.init()
        with psycopg.connect(postgres.url(), autocommit=True) as connection:
            connection.execute("CREATE DATABASE kalem")
        redis.start()
        yield postgres, redis
    finally:
        postgres.thaw()
        if redis.process is not None and redis.process.poll() is None:
            redis.stop()
        try:
            postgres.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class App:
    base: str
    token: str
    process: subprocess.Popen
    env: dict

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid)


def app_env(project: Path, postgres: Postgres, redis: Redis, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DATABASE_URL": postgres.url("kalem"),
            "REDIS_URL": redis.url(),
            "API_RATE_LIMIT": f"{RATE_LIMIT}/hour",
            "SECRET_KEY": "fault-test-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONPATH": str(project),
            **extra,
        }
    )
    return env


def manage(project: Path, env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def serve(project: Path, env: dict, log: Path, workers: int = 2):
    """gunicorn of `project` with its own gunicorn.conf.py (the checkout's production setup)."""
    manage(project, env, "migrate", "--no-input", "-v0")
    token = manage(project, env, "createtoken", "--account", "Faults", "--name", "Load").strip().splitlines()[-1]
    port = free_port()
    command = [str(BIN / "gunicorn"), "kalem_site.wsgi", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"]
    command += ["-w", str(workers), "--access-logfile", "/dev/null"]
    with open(log, "ab") as log_file:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", token, process, env)
    try:
        deadline = time.monotonic() + 30
        while request(app, "GET", "/api/v1/numbers?per_page=1", timeout=2).status != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Answer:
    status: int | str  # an HTTP status, or "timeout" / "no answer"
    content_type: str = ""
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0


def request(app: App, method: str, path: str, body: dict | None = None, timeout: float = 15, **headers) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {app.token}", "Content-Type": "application/json", **headers}
    prepared = urllib.request.Request(app.base + path, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            answer = Answer(response.status, response.headers.get("Content-Type", ""), response.read())
            answer.headers = dict(response.headers)
    except urllib.error.HTTPError as error:
        answer = Answer(error.code, error.headers.get("Content-Type", ""), error.read(), dict(error.headers))
    except TimeoutError:
        answer = Answer("timeout")
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        answer = Answer("timeout" if isinstance(reason, TimeoutError) else "no answer")
    answer.started, answer.ended = started, time.monotonic()
    return answer


_numbers = itertools.count(1)


@dataclass
class Run:
    name: str
    answers: list[Answer]
    acknowledged: set[str]  # numbers whose POST got a 2xx
    restored_at: float
    found: set[str] = field(default_factory=set)
    half_written: list[str] = field(default_factory=list)
    recovery: float | None = None
    master_restarted: bool = False
    workers_replaced: bool = False

    def histogram(self) -> Counter:
        return Counter(answer.status for answer in self.answers)

    def bad_answers(self) -> list[Answer]:
        """Anything on /api/ but a JSON 2xx, 429 or 503."""
        return [
            answer
            for answer in self.answers
            if not (
                isinstance(answer.status, int)
                and (200 <= answer.status < 300 or answer.status in (429, 503))
                and answer.content_type.startswith("application/json")
            )
        ]

    @property
    def lost(self) -> set[str]:
        return self.acknowledged - self.found


def counted(answer: Answer) -> bool:
    """The rate limit counted this request (its store was reachable)."""
    remaining = answer.headers.get("X-RateLimit-Remaining")
    return remaining is not None and int(remaining) < RATE_LIMIT


def outage(
    app: App,
    postgres: Postgres,
    name: str,
    begin,
    end,
    *,
    before: float = 1.5,
    during: float = 4.0,
    after: float = 6.0,
    threads: int = 4,
    max_requests: int = 4000,
    timeout: float = 15,
) -> Run:
    """Bounded load (`threads` threads alternating a POST of a new number and a list, at most
    `max_requests`), the dependency taken away by `begin()` after `before` seconds and given
    back by `end()` `during` seconds later; the load goes on for `after` more seconds."""
    answers: list[Answer] = []
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    budget = itertools.count()
    prefix = f"+1555{os.getpid() % 100:02d}{next(_numbers) % 10}"
    serial = itertools.count()
    master = app.process.pid
    workers = sorted(app.worker_pids())

    def load() -> None:
        while not stop.is_set() and next(budget) < max_requests:
            number = f"{prefix}{next(serial):04d}"
            answer = request(app, "POST", "/api/v1/numbers", {"number": number}, timeout=timeout)
            listed = request(app, "GET", "/api/v1/numbers?per_page=5", timeout=timeout)
            with lock:
                answers.extend([answer, listed])
                if isinstance(answer.status, int) and 200 <= answer.status < 300:
                    acknowledged.add(number)

    pool = [threading.Thread(target=load, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    time.sleep(before)
    begin()
    time.sleep(during)
    end()
    restored_at = time.monotonic()
    time.sleep(after)
    stop.set()
    for thread in pool:
        thread.join(timeout + 5)
    run = Run(name, answers, acknowledged, restored_at)
    run.master_restarted = app.process.poll() is not None or app.process.pid != master
    run.workers_replaced = sorted(app.worker_pids()) != workers
    check_rows(run, postgres, prefix)
    return run


def check_rows(run: Run, postgres: Postgres, prefix: str) -> None:
    """Which numbers of the run are in the database, and whether any is half-written (no
    `created` event, or another number than was sent)."""
    with postgres.connect() as connection:
        rows = connection.execute(
            """SELECT n.number, count(e.id) FILTER (WHERE e.action = 'created')
               FROM numbers_app_phonenumber n LEFT JOIN numbers_app_numberevent e ON e.number_id = n.id
               WHERE n.number LIKE %s GROUP BY n.number""",
            [prefix + "%"],
        ).fetchall()
    run.found = {number for number, _ in rows}
    run.half_written = [number for number, created_events in rows if created_events != 1]


def recovery_of_writes(run: Run) -> float | None:
    """Seconds from the dependency's return to the end of the first 2xx POST started after it."""
    ends = [
        answer.ended
        for answer in run.answers
        if answer.started >= run.restored_at and isinstance(answer.status, int) and answer.status == 201
    ]
    return round(min(ends) - run.restored_at, 2) if ends else None


def recovery_of_counting(run: Run) -> float | None:
    """Seconds from Redis's return to the end of the first request counted again."""
    ends = [answer.ended for answer in run.answers if answer.started >= run.restored_at and counted(answer)]
    return round(min(ends) - run.restored_at, 2) if ends else None


def slow_clients(app: App, *, sockets: int = 50, duration: float = 30, line_every: float = 5) -> dict:
    """`sockets` clients that send a request's headers one line every `line_every` seconds
    (reconnecting when the server closes them), for `duration` seconds, while two clients
    send normal requests one after another. Returns the normal requests' latencies."""
    stop = threading.Event()
    host = app.base.removeprefix("http://").split(":")
    address = (host[0], int(host[1]))

    def slow() -> None:
        sock = None
        while not stop.is_set():
            try:
                if sock is None:
                    sock = socket.create_connection(address, timeout=2)
                    sock.sendall(b"GET /api/v1/numbers HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                sock.sendall(b"X-Slow: %d\r\n" % int(time.monotonic()))
            except OSError:
                if sock is not None:
                    sock.close()
                sock = None
                stop.wait(0.2)
                continue
            stop.wait(line_every)
        if sock is not None:
            sock.close()

    answers: list[Answer] = []

    def normal() -> None:
        while not stop.is_set():
            answers.append(request(app, "GET", "/api/v1/numbers?per_page=5", timeout=10))

    attackers = [threading.Thread(target=slow, daemon=True) for _ in range(sockets)]
    for thread in attackers:
        thread.start()
    time.sleep(min(2.0, duration / 4))  # every slow socket is open before measuring
    clients = [threading.Thread(target=normal, daemon=True) for _ in range(2)]
    for thread in clients:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in clients + attackers:
        thread.join(15)
    latencies = sorted(answer.ended - answer.started for answer in answers)
    ok = sum(1 for answer in answers if answer.status == 200)

    def percentile(share: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 3) if latencies else float("nan")

    return {
        "requests": len(answers),
        "ok": ok,
        "statuses": Counter(answer.status for answer in answers),
        "p50": percentile(0.50),
        "p99": percentile(0.99),
        "max": round(latencies[-1], 3) if latencies else float("nan"),
    }


def killed_first_request(app: App, postgres: Postgres, *, give_up_after: float = 20) -> dict:
    """A POST with an Idempotency-Key whose worker is SIGKILLed while it runs (held up on a
    row lock taken here), then retried with the same key until it runs: how long after the
    kill the key is usable again (None: not within `give_up_after` seconds)."""
    number = f"+1555{os.getpid() % 100:02d}9{next(_numbers) % 10000:04d}"
    assert request(app, "POST", "/api/v1/numbers", {"number": number}).status == 201
    key = f"killed-{number}"
    body = {"number": number}
    with postgres.connect() as locker:
        locker.execute("BEGIN")
        locker.execute("SELECT id FROM numbers_app_phonenumber WHERE number = %s FOR UPDATE", [number])
        first = threading.Thread(
            target=request, args=(app, "POST", "/api/v1/numbers/deactivate", body), kwargs={"Idempotency-Key": key}
        )
        first.start()
        deadline = time.monotonic() + 5
        with postgres.connect() as watcher:
            while not watcher.execute("SELECT 1 FROM accounts_idempotencyrecord WHERE key = %s", [key]).fetchone():
                if time.monotonic() > deadline:
                    raise RuntimeError("the first request did not claim its key")
                time.sleep(0.05)
        time.sleep(0.3)  # now waiting for the row lock
        for pid in app.worker_pids():
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        locker.execute("ROLLBACK")
    first.join(20)
    statuses = Counter()
    usable_after = None
    while time.monotonic() - killed_at < give_up_after:
        answer = request(app, "POST", "/api/v1/numbers/deactivate", body, timeout=5, **{"Idempotency-Key": key})
        statuses[answer.status] += 1
        if isinstance(answer.status, int) and 200 <= answer.status < 300:
            usable_after = round(answer.ended - killed_at, 1)
            break
        time.sleep(0.25)
    with postgres.connect() as connection:
        status = connection.execute("SELECT status FROM numbers_app_phonenumber WHERE number = %s", [number]).fetchone()
        events = connection.execute(
            "SELECT count(*) FROM numbers_app_numberevent WHERE number = %s AND action = 'deactivated'", [number]
        ).fetchone()
    return {
        "retries": dict(statuses),
        "usable_after": usable_after,
        "status": status[0],
        "deactivated_events": events[0],
    }


def raw_request(app: App, data: bytes, timeout: float = 10) -> tuple[int, str, bytes]:
    """Send bytes as they are; the answer's status, Content-Type and body."""
    host, port = app.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body
