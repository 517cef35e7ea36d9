"""`make bench`: the numbers API under load, each endpoint beside its own floor and beside a
baseline commit, in the same run.

On PostgreSQL (127.0.0.1:5432, user postgres) and gunicorn with production settings
(gunicorn.conf.py, 3 workers), for each N of --sizes: a fresh database seeded with one account
of N numbers (agents and trunks assigned in a realistic mix) plus other accounts' rows as
noise. Three servers then run side by side:

- this checkout;
- its floors (bench/floors.py): a middleware-free Django app under the same gunicorn config
  that answers each endpoint's request with exactly the bytes that endpoint answered when the
  run started (captured from it), so "share of the floor" is the endpoint's own work measured
  against Django and gunicorn serving the same bytes;
- the baseline (--baseline REF, env BENCH_BASELINE, default 91835b7): REF checked out with
  `git worktree add` into a temporary folder, with its own database seeded with the same rows.

wrk (-t2 -c16) drives one endpoint at a time: the endpoint, then its floor, then the baseline's
endpoint, after a warm-up of each, the median of --runs runs. Prints the tables and writes them
to docs/PERFORMANCE.md.

    .venv/bin/python bench/run.py                                  # 2,000 and 1,000,000 numbers
    .venv/bin/python bench/run.py --sizes 2000 --duration 3 --runs 1 --baseline none

The databases (`kalem_bench_<N>`, and `kalem_bench_<N>_base` for the baseline; BENCH_DATABASE
changes the prefix) are kept after the run; `--reuse` measures on them again without
re-seeding.
"""

import argparse
import base64
import datetime
import http.cookiejar
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "kalem_bench")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
RATE_LIMIT = os.environ.get("BENCH_RATE_LIMIT", "off")
BASE = f"http://127.0.0.1:{PORT}"
OPERATOR = ("bench", "bench-password-123")
NOISE_ACCOUNTS = 3
DEFAULT_BASELINE = "91835b7"
CONNECTIONS = 16


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    # CPU time per request of the server's processes and of their PostgreSQL backends: what
    # a request costs whatever else the machine is doing (req/s fall with others' load).
    # 0 when unknown (a process went away during the run).
    cpu_ms: float = 0.0


# Seeding ---------------------------------------------------------------------------------


def server_env(database: str = DATABASE) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{database}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        # Off, as the issue measures; BENCH_RATE_LIMIT=1000000000/hour counts every request in
        # Redis as production does (one more round trip a request) without ever refusing one.
        "API_RATE_LIMIT": RATE_LIMIT,
        # The set-up: 3 gunicorn workers (of gunicorn.conf.py's threaded kind).
        "WEB_CONCURRENCY": os.environ.get("BENCH_WORKERS", "3"),
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict, *args: str, project: Path = PROJECT) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=project, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def reset_database(database: str = DATABASE) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')


def seed(env: dict, size: int, *, project: Path = PROJECT, database: str = DATABASE) -> dict:
    """Migrate (with `project`'s code) and seed the same rows whatever the project (the same
    random sequence); returns the token and a few ids and numbers the endpoints need."""
    manage(env, "migrate", "--no-input", "-v0", project=project)
    manage(env, "collectstatic", "--no-input", "-v0", project=project)  # the dashboard's CSS, as in production
    token = manage(env, "createtoken", "--account", "Bench", "--name", "bench", project=project)
    token = token.strip().splitlines()[-1]
    manage(
        env, "createoperator", "--account", "Bench", "--username", OPERATOR[0], "--password", OPERATOR[1],
        project=project,
    )  # fmt: skip
    rng = random.Random(42)
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(f"{SERVER}/{database}") as connection:
        accounts = [connection.execute("SELECT id FROM accounts_account WHERE name = 'Bench'").fetchone()[0]]
        # The other accounts' columns as the Bench account's (whatever columns the project's
        # migrations made: the baseline's are fewer).
        others = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts_account' "
                "AND column_name NOT IN ('id', 'name', 'created_at') ORDER BY ordinal_position"
            )
        ]
        copied = "".join(f", {column}" for column in others)
        for index in range(NOISE_ACCOUNTS):
            accounts.append(
                connection.execute(
                    f"INSERT INTO accounts_account (name, created_at{copied}) "
                    f"SELECT %s, %s{copied} FROM accounts_account WHERE id = %s RETURNING id",
                    [f"Noise {index}", now, accounts[0]],
                ).fetchone()[0]
            )
        serial = 0
        for account in accounts:
            voice = insert_named(connection, "agents_app_voiceagent", account, "Voice agent", 20, now)
            text = insert_named(connection, "agents_app_textagent", account, "Text agent", 10, now)
            trunks = insert_trunks(connection, account, 8, now)
            count = size if account == accounts[0] else max(100, size // 10)
            with connection.cursor().copy(
                "COPY numbers_app_phonenumber (account_id, number, provider, status, voice_agent_id, "
                "text_agent_id, trunk_id, created_at, updated_at) FROM STDIN"
            ) as copy:
                for _ in range(count):
                    serial += 1
                    copy.write_row(
                        (
                            account,
                            # Distinct and spread over all digits: 7919 is prime to 10**10.
                            f"+1{(serial * 7919 + 2015550100) % 10**10:010d}",
                            "twilio" if rng.random() < 0.3 else "manual",
                            "active" if rng.random() < 0.85 else "inactive",
                            rng.choice(voice) if rng.random() < 0.7 else None,
                            rng.choice(text) if rng.random() < 0.4 else None,
                            rng.choice(trunks) if rng.random() < 0.8 else None,
                            now,
                            now,
                        )
                    )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    return {"token": token, **seeded_rows(database, size)}


def seeded_rows(database: str, size: int) -> dict:
    """The ids and numbers of a seeded database that the endpoints need."""
    with psycopg.connect(f"{SERVER}/{database}") as connection, connection.cursor() as cursor:
        account = cursor.execute("SELECT id FROM accounts_account WHERE name = 'Bench'").fetchone()[0]
        bench_trunk = cursor.execute(
            "SELECT min(id) FROM numbers_app_siptrunk WHERE account_id = %s", [account]
        ).fetchone()[0]
        cursor.execute("SELECT id FROM agents_app_voiceagent WHERE account_id = %s ORDER BY id LIMIT 2", [account])
        voice = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT id FROM numbers_app_phonenumber WHERE account_id = %s ORDER BY id LIMIT 500", [account])
        number_ids = [row[0] for row in cursor.fetchall()]
        # A number in the middle of the account's: the lookup's, found through the index.
        cursor.execute(
            "SELECT number FROM numbers_app_phonenumber WHERE account_id = %s ORDER BY id OFFSET %s LIMIT 1",
            [account, size // 2],
        )
        lookup_number = cursor.fetchone()[0]
    return {
        "trunk": bench_trunk,
        "voice_agents": voice,
        "number_ids": number_ids,
        "lookup_number": lookup_number,
        "size": size,
    }


def holds_seed(database: str, size: int) -> bool:
    """Whether `database` exists and its Bench account has `size` numbers (a seed to reuse)."""
    try:
        with psycopg.connect(f"{SERVER}/{database}") as connection:
            row = connection.execute(
                "SELECT count(*) FROM numbers_app_phonenumber n JOIN accounts_account a ON a.id = n.account_id "
                "WHERE a.name = 'Bench'"
            ).fetchone()
    except psycopg.Error:
        return False
    return row[0] == size


def prepare(size: int, *, project: Path, database: str, reuse: bool) -> tuple[dict, dict]:
    """The server's environment and the seeded rows: a fresh seed, or with `reuse` the seed of
    an earlier run (migrated by `project`, with a new token)."""
    env = server_env(database)
    if reuse and holds_seed(database, size):
        manage(env, "migrate", "--no-input", "-v0", project=project)
        manage(env, "collectstatic", "--no-input", "-v0", project=project)
        token = manage(env, "createtoken", "--account", "Bench", "--name", "bench", project=project)
        manage(
            env, "createoperator", "--account", "Bench", "--username", OPERATOR[0], "--password", OPERATOR[1],
            project=project,
        )  # fmt: skip
        return env, {"token": token.strip().splitlines()[-1], **seeded_rows(database, size)}
    reset_database(database)
    return env, seed(env, size, project=project, database=database)


def insert_named(connection, table: str, account: int, prefix: str, count: int, now) -> list[int]:
    return [
        connection.execute(
            f"INSERT INTO {table} (account_id, name, description, created_at, updated_at) "
            "VALUES (%s, %s, '', %s, %s) RETURNING id",
            [account, f"{prefix} {index}", now, now],
        ).fetchone()[0]
        for index in range(count)
    ]


def insert_trunks(connection, account: int, count: int, now) -> list[int]:
    return [
        connection.execute(
            "INSERT INTO numbers_app_siptrunk (account_id, name, direction, auth_type, host, port, username, "
            "password_encrypted, outbound_server, registered, created_at, updated_at) "
            "VALUES (%s, %s, 'inbound', 'ip', %s, 5060, '', '', '', false, %s, %s) RETURNING id",
            [account, f"Trunk {index}", f"10.0.{account % 250}.{index + 1}", now, now],
        ).fetchone()[0]
        for index in range(count)
    ]


# Serving ---------------------------------------------------------------------------------


class Gunicorn:
    """A gunicorn of gunicorn.conf.py serving `app` from `project` on `port`."""

    def __init__(
        self,
        env: dict,
        log: Path,
        *,
        project: Path = PROJECT,
        app: str = "kalem_site.wsgi",
        port: int = PORT,
        ready_path: str = "/login/",
    ):
        self.database = env.get("DATABASE_URL", "").rpartition("/")[2] if app == "kalem_site.wsgi" else None
        self.pidfile = Path(tempfile.mkdtemp()) / "gunicorn.pid"
        self.log = open(log, "ab")
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            # No recycling of workers during the run (gunicorn.conf.py's max_requests): a recycled
            # worker would take its CPU time with it.
            [str(BIN / "gunicorn"), app, "-c", str(PROJECT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
             "--pid", str(self.pidfile), "--access-logfile", "/dev/null", "--max-requests", "0"],
            cwd=project, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.base}{ready_path}", timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    sys.exit(f"gunicorn ({app} in {project}) did not start; see {log}")
                time.sleep(0.3)

    def pids(self) -> list[int]:
        master = self.pidfile.read_text().strip()
        output = subprocess.run(["ps", "-o", "pid=", "--ppid", master], capture_output=True, text=True).stdout
        return [int(master), *(int(pid) for pid in output.split())]

    def worker_rss_mb(self) -> float:
        master = self.pidfile.read_text().strip()
        output = subprocess.run(["ps", "-o", "rss=", "--ppid", master], capture_output=True, text=True).stdout
        return sum(int(value) for value in output.split()) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def dashboard_cookie(base: str = BASE) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": OPERATOR[0], "password": OPERATOR[1], "csrfmiddlewaretoken": csrf})
    request = urllib.request.Request(f"{base}/login/", data=form.encode(), headers={"Referer": f"{base}/login/"})
    opener.open(request).read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


# Load ------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, *, duration: int, headers: dict, script: Path | None = None, connections: int = CONNECTIONS
) -> tuple[float, float, float, int, int]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(name: str) -> float:
        value, unit = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * _UNITS[unit]

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return rps, percentile("50"), percentile("99"), errors, requests


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each of these processes so far (those gone are left out)."""
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return times


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU seconds between the two readings; None when a process went away meanwhile (its
    time is unknown)."""
    if before.keys() - after.keys():
        return None
    return sum(after[pid] - before[pid] for pid in before)


def backend_pids(database: str) -> list[int]:
    with psycopg.connect(f"{SERVER}/postgres") as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
    return [row[0] for row in rows]


@dataclass
class Endpoint:
    name: str
    key: str  # the floor's name (bench/floors.py serves /floor/<key>/…)
    method: str
    path: str  # the path of the capture (and of every request without a script)
    headers: dict
    body: bytes | None = None
    script: str | None = None  # Lua: each request's own method, path and body; PREFIX is the API's base path
    # A page that takes long under load: fewer connections, a longer run (or wrk counts nothing).
    connections: int = CONNECTIONS
    min_duration: int = 0


def put_script(ids: list[int]) -> str:
    """Each request updates a number picked at random, alternating its status: real writes."""
    return (
        "local ids = {" + ",".join(map(str, ids)) + "}\n"
        "local n = 0\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local status = (n % 2 == 0) and 'active' or 'inactive'\n"
        '  local body = \'{"status": "\' .. status .. \'", "provider": "manual"}\'\n'
        # nil headers: wrk's own, which carry -H Authorization and the Content-Type above
        "  return wrk.format('PUT', PREFIX .. '/numbers/' .. ids[math.random(#ids)], nil, body)\n"
        "end\n"
    )


BULK_SIZE = 100


def bulk_script(ids: list[int], agents: list[int]) -> str:
    """Each request assigns BULK_SIZE numbers (a random run of the first ids) to one of two
    voice agents, alternately: every request changes the numbers it names."""
    return (
        "local ids = {" + ",".join(map(str, ids)) + "}\n"
        "local agents = {" + ",".join(map(str, agents)) + "}\n"
        "local n = 0\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        "request = function()\n"
        "  n = n + 1\n"
        f"  local start = math.random(#ids - {BULK_SIZE - 1})\n"
        "  local chosen = {}\n"
        f"  for i = 0, {BULK_SIZE - 1} do chosen[#chosen + 1] = ids[start + i] end\n"
        '  local body = \'{"action": "assign", "ids": [\' .. table.concat(chosen, \',\') .. \'], "voice_agent_id": \''
        " .. agents[(n % 2) + 1] .. '}'\n"
        "  return wrk.format('POST', PREFIX .. '/numbers/bulk', nil, body)\n"
        "end\n"
    )


def endpoints(seeded: dict, cookie: str) -> list[Endpoint]:
    auth = {"Authorization": f"Bearer {seeded['token']}"}
    json_auth = {**auth, "Content-Type": "application/json"}
    last_page = max(1, -(-seeded["size"] // 100))
    ids = seeded["number_ids"]
    lookup = urllib.parse.quote(seeded["lookup_number"])
    bulk_body = {"action": "assign", "ids": ids[:BULK_SIZE], "voice_agent_id": seeded["voice_agents"][0]}
    return [
        Endpoint("GET /numbers?per_page=100", "list", "GET", "/api/v1/numbers?per_page=100", auth),
        Endpoint(
            "GET /numbers?status=active&trunk_id=…",
            "filtered",
            "GET",
            f"/api/v1/numbers?status=active&trunk_id={seeded['trunk']}",
            auth,
        ),
        Endpoint("GET /numbers?search=<3 digits>", "search", "GET", "/api/v1/numbers?search=555", auth),
        Endpoint(
            "GET /numbers?per_page=100&page=<last>",
            "last",
            "GET",
            f"/api/v1/numbers?per_page=100&page={last_page}",
            auth,
        ),
        Endpoint("GET /numbers/{id}", "get", "GET", f"/api/v1/numbers/{ids[0]}", auth),
        Endpoint("GET /numbers/lookup?number=…", "lookup", "GET", f"/api/v1/numbers/lookup?number={lookup}", auth),
        Endpoint(
            "PUT /numbers/{id}",
            "put",
            "PUT",
            f"/api/v1/numbers/{ids[0]}",
            json_auth,
            b'{"status": "active", "provider": "manual"}',
            put_script(ids),
        ),  # fmt: skip
        Endpoint(
            f"POST /numbers/bulk ({BULK_SIZE} ids, assign)",
            "bulk",
            "POST",
            "/api/v1/numbers/bulk",
            json_auth,
            json.dumps(bulk_body).encode(),
            bulk_script(ids, seeded["voice_agents"]),
        ),  # fmt: skip
        Endpoint(
            "dashboard /numbers/ (-c4)",
            "dashboard",
            "GET",
            "/numbers/",
            {"Cookie": cookie},
            connections=4,
            min_duration=10,
        ),  # fmt: skip
    ]


def capture(base: str, endpoint: Endpoint) -> dict:
    """One request to the real endpoint: what its floor will answer."""
    request = urllib.request.Request(base + endpoint.path, data=endpoint.body, method=endpoint.method)
    for name, value in endpoint.headers.items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        if response.status != 200:
            sys.exit(f"{endpoint.name} answered {response.status} at the capture")
        return {"status": response.status, "content_type": response.headers["Content-Type"], "body": body}


def run_endpoint(
    server: "Gunicorn", prefix: str, endpoint: Endpoint, *, duration: int, runs: int, folder: Path
) -> Result:
    """wrk against `server`: the API's paths under `prefix` (`/api/v1`, or the floor's
    `/floor/<key>`); the median of the runs, after a warm-up; and the CPU time per request of
    the server and its database backends over all the runs."""
    base = server.base
    script = None
    path = endpoint.path
    if prefix != "/api/v1":
        path = f"{prefix}{endpoint.path.removeprefix('/api/v1')}" if endpoint.path.startswith("/api/") else prefix
    if endpoint.script:
        script = folder / f"{endpoint.key}-{abs(hash(prefix))}.lua"
        script.write_text(f"PREFIX = '{prefix}'\n" + endpoint.script)
    options = {"headers": endpoint.headers, "script": script, "connections": endpoint.connections}
    wrk(base + path, duration=1, **options)  # warm-up
    pids = server.pids() + (backend_pids(server.database) if server.database else [])
    cpu_before = cpu_seconds(pids)
    duration = max(duration, endpoint.min_duration)
    samples = [wrk(base + path, duration=duration, **options) for _ in range(runs)]
    cpu = cpu_used(cpu_before, cpu_seconds(pids))
    requests = sum(sample[4] for sample in samples)
    rps, p50, p99 = (statistics.median(sample[i] for sample in samples) for i in range(3))
    cpu_ms = cpu / requests * 1000 if requests and cpu is not None else 0.0
    return Result(endpoint.name, rps, p50, p99, sum(sample[3] for sample in samples), cpu_ms)


@dataclass
class SizeResults:
    size: int
    current: list[Result]
    floors: list[Result]
    baseline: list[Result] | None
    body_bytes: list[int]
    rss: tuple[float, float, float]


def measure_size(size: int, args, folder: Path, baseline: Path | None) -> SizeResults:
    print(f"N = {size:,}: seeding…", flush=True)
    started = time.monotonic()
    env, seeded = prepare(size, project=PROJECT, database=f"{DATABASE}_{size}", reuse=args.reuse)
    base_env = base_seeded = None
    if baseline:
        base_env, base_seeded = prepare(size, project=baseline, database=f"{DATABASE}_{size}_base", reuse=args.reuse)
    print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
    servers = []
    try:
        current = Gunicorn(env, folder / f"gunicorn-{size}.log")
        servers.append(current)
        started_rss = current.worker_rss_mb()
        targets = endpoints(seeded, dashboard_cookie(current.base))
        captured = {endpoint.key: capture(current.base, endpoint) for endpoint in targets}
        bodies = folder / f"floors-{size}.json"
        bodies.write_text(
            json.dumps({key: {**c, "body": base64.b64encode(c["body"]).decode()} for key, c in captured.items()})
        )
        floor = Gunicorn(
            {**env, "BENCH_FLOOR_BODIES": str(bodies)}, folder / f"floors-{size}.log",
            app="bench.floors:application", port=PORT + 1, ready_path="/floor/list",
        )  # fmt: skip
        servers.append(floor)
        base_targets = None
        if baseline:
            base_server = Gunicorn(base_env, folder / f"baseline-{size}.log", project=baseline, port=PORT + 2)
            servers.append(base_server)
            base_targets = endpoints(base_seeded, dashboard_cookie(base_server.base))
        warm_rss = None
        results, floors, base_results = [], [], []
        for index, endpoint in enumerate(targets):
            result = run_endpoint(current, "/api/v1", endpoint, duration=args.duration, runs=args.runs, folder=folder)
            if warm_rss is None:
                warm_rss = current.worker_rss_mb()
            floor_result = run_endpoint(
                floor, f"/floor/{endpoint.key}", endpoint, duration=args.duration, runs=args.runs, folder=folder
            )
            results.append(result)
            floors.append(floor_result)
            line = (
                f"  {endpoint.name:42} {result.rps:8.1f} req/s (p50 {result.p50_ms:6.2f} ms, p99 {result.p99_ms:6.2f} ms,"
                f" errors {result.errors}, {result.cpu_ms:5.2f} ms CPU); floor {floor_result.rps:8.1f}"
                f" ({floor_result.cpu_ms:5.2f} ms CPU): {_ratio(result.rps, floor_result.rps):6.1%}"
                f" (CPU {_cpu_share(floor_result, result)})"
            )
            if baseline:
                base_result = run_endpoint(
                    base_server,
                    "/api/v1",
                    base_targets[index],
                    duration=args.duration,
                    runs=args.runs,
                    folder=folder,
                )
                base_results.append(base_result)
                line += (
                    f"; baseline {base_result.rps:8.1f} req/s ({_ratio(base_result.rps, floor_result.rps):6.1%},"
                    f" {base_result.cpu_ms:5.2f} ms CPU)"
                )
            print(line, flush=True)
        rss = (started_rss, warm_rss, current.worker_rss_mb())
    finally:
        for server in servers:
            server.stop()
    return SizeResults(
        size, results, floors, base_results if baseline else None, [len(captured[t.key]["body"]) for t in targets], rss
    )


# Report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    with psycopg.connect(f"{SERVER}/postgres") as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB; PostgreSQL {postgres}; "
        f"Python {platform.python_version()}; gunicorn.conf.py with 3 workers; wrk -t2 -c{CONNECTIONS} on the same machine"
    )


# The targets of issue 14: the share of its floor each endpoint must reach.
FLOOR_TARGETS = {"list": 0.25, "get": 0.40, "lookup": 0.40}
LOOKUP_P99_TARGET_MS = 10.0
LATENCY_SIZE = 1_000_000


def _share(result: Result, floor: Result) -> str:
    return f"{result.rps / floor.rps:.1%}" if floor.rps else "—"


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _cpu_share(floor: Result, result: Result) -> str:
    """The floor's CPU per request ÷ the endpoint's; — when either is unknown."""
    return f"{floor.cpu_ms / result.cpu_ms:.1%}" if floor.cpu_ms > 0 and result.cpu_ms > 0 else "—"


def _cpu(result: Result) -> str:
    return f"{result.cpu_ms:.2f}" if result.cpu_ms > 0 else "—"


def report(sized: list[SizeResults], args, baseline_ref: str | None, load: str) -> str:
    keys = [endpoint.key for endpoint in endpoints(_DUMMY_SEEDED, "")]
    lines = [
        "# Performance",
        "",
        f"Measured by `make bench` on {datetime.date.today().isoformat()}: {machine()}.",
        f"Command: `{args.command}`. Each figure is the median of {args.runs} run(s) of {args.duration} s after a 1 s",
        "warm-up, one endpoint at a time: the endpoint, its floor, then the baseline's endpoint. Production",
        "settings (DEBUG off, persistent connections), the rate limit "
        + (
            "off as the issue measures it (`BENCH_RATE_LIMIT=1000000000/hour` counts it in Redis)."
            if RATE_LIMIT == "off"
            else f"`{RATE_LIMIT}`, counted in Redis."
        ),
        f"Load average when the run started: {load} (the machine is shared; compare shares and ratios",
        "measured in the same run, not absolute figures across runs).",
        "",
        "**Floor**: a middleware-free Django app (bench/floors.py) under the same gunicorn config, answering",
        "the endpoint's request with exactly the bytes the endpoint answered at the start of the run.",
        "**Share** = the endpoint's req/s ÷ its floor's req/s (the issue's measure). **CPU share** = the floor's",
        "CPU time per request ÷ the endpoint's, counting the gunicorn processes and their PostgreSQL backends",
        "(from /proc, over the measured runs): on a machine others load, req/s of two servers measured seconds",
        "apart can swing by 2–4×, CPU time per request far less.",
    ]
    if baseline_ref:
        lines += [
            f"**Baseline**: commit `{baseline_ref}`, checked out with `git worktree add`, its own database seeded",
            "with the same rows, measured in the same run; its share is against the same floor.",
        ]
    for sizes in sized:
        lines += [
            "",
            f"## N = {sizes.size:,} numbers in the account",
            "",
            "| endpoint | bytes | req/s | p50 ms | p99 ms | errors | CPU ms/req | floor req/s | floor CPU ms/req "
            "| share of floor | CPU share |"
            + (" baseline req/s | baseline CPU ms/req | baseline share | baseline CPU share | × baseline req/s |"
               if sizes.baseline else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|---:|---:|" if sizes.baseline else ""),
        ]  # fmt: skip
        for index, result in enumerate(sizes.current):
            floor = sizes.floors[index]
            row = (
                f"| {result.name} | {sizes.body_bytes[index]:,} | {result.rps:.0f} | {result.p50_ms:.2f} | "
                f"{result.p99_ms:.2f} | {result.errors} | {_cpu(result)} | {floor.rps:.0f} | {_cpu(floor)} | "
                f"{_share(result, floor)} | {_cpu_share(floor, result)} |"
            )
            if sizes.baseline:
                base = sizes.baseline[index]
                row += (
                    f" {base.rps:.0f} | {_cpu(base)} | {_share(base, floor)} | "
                    f"{_cpu_share(floor, base)} | {_ratio(result.rps, base.rps):.2f}× |"
                )
            lines.append(row)
    largest = next((s for s in sized if s.size == LATENCY_SIZE), None)
    lookup_index = keys.index("lookup")
    if largest:
        lines += [
            "",
            f"## Lookup latency at N = {LATENCY_SIZE:,} (wrk -c{CONNECTIONS})",
            "",
            "| server | req/s | p50 ms | p99 ms | errors | CPU ms/req |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        rows = [("this checkout", largest.current[lookup_index]), ("floor", largest.floors[lookup_index])]
        if largest.baseline:
            rows.append((f"baseline {baseline_ref}", largest.baseline[lookup_index]))
        for label, result in rows:
            lines.append(
                f"| {label} | {result.rps:.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | {result.errors} "
                f"| {result.cpu_ms:.2f} |"
            )
    lines += [
        "",
        "## gunicorn worker memory (RSS of all workers of this checkout, MiB)",
        "",
        "| N | started | after the first endpoint | after the run |",
        "|---:|---:|---:|---:|",
    ]
    for sizes in sized:
        lines.append(f"| {sizes.size:,} | {sizes.rss[0]:.0f} | {sizes.rss[1]:.0f} | {sizes.rss[2]:.0f} |")
    lines += ["", "## Targets (this run)", "", "| target | result |", "|---|---|"]
    lines += targets(sized, keys, baseline_ref)
    return "\n".join(lines) + "\n" + APPROACH


APPROACH = """
## How the API stays close to its floor

- **Rows, not models.** The list reads exactly the Number object's columns with
  `.values(...)` and builds each object with one function (`numbers_app/shapes.py`), which
  also serves a single object and the webhook messages: one source for the shape. JSON is
  written with orjson, the two timestamps included (as datetimes, whole seconds, in C).
- **Queries compiled once.** The token (with its account), the unfiltered list's page and
  its total (one facet row, also a list's total with one filter), a number by id and the
  lookup by number are querysets compiled to SQL once per connection
  (`kalem_site.db.CompiledQuery`), run with each request's values and the backend's
  converters: the ORM's compile cost (0.5–1 ms for the joined page query) is gone, the SQL
  is the ORM's own (a test holds them equal). The token's query has no ORDER BY or LIMIT: its
  digest is unique.
- **Prepared statements** (PostgreSQL): the compiled queries are bound on the server and
  prepared from their second run on a connection; `DB_PREPARED_STATEMENTS=0` turns preparing
  off for a transaction-pooling PgBouncer.
- **psycopg's C timestamp loader** instead of Django's Python subclass of it (the session's
  zone is UTC, so the values already are), and a **health check without a round trip** (one
  zero-timeout poll of the socket: a connection the server closed has something to read).
- **A lean middleware stack for `/api/`** (`settings.API_MIDDLEWARE`): no session, CSRF,
  authentication, messages, static files or sign-in lockout middleware, which do nothing there.
- **The token and the row in one query.** A get and a lookup read their number joined with
  the request's token through the number's account (`numbers_app/hot_reads.py`,
  `NumberViewSet.read_with_token`, called by the bearer-token authentication): one round trip
  instead of two. When that query finds nothing (no such number in the account, or no such
  token), a second one reads the token alone: 404 or 401, as before. The lookup's row holds
  every input of the verdict (`selectors.number_routing`), and its number is checked without
  building a serializer (a property test holds the two checks equal).
- **Exact totals without COUNT(\\*).** `NumberFacetCount` (each account's total and the
  count of every filter value) and `NumberTally` (its combinations), kept by database
  triggers, answer a list's total without a search: one row for no filter or one, a sum of
  combinations for more; with a search, the total is a real COUNT(\\*).
- **Pages as a deferred join, from the nearer end**: a narrow id query on the `(account, id)`
  index, then the full rows of those ids; pages in the second half read backwards.
- **The dashboard's numbers list** reads its rows as `.values()` dicts (by the API's compiled
  page query when unfiltered) and the account's agents and trunks by a compiled query; its
  rows and selects are written in Python (`numbers_app/templatetags/dashboard.py`), the HTML
  byte for byte the templates'.
- **Per request:** one query for a get and a lookup (the number with the token), three for a
  list (token, total, page), up to seven for an update; the rate limit is one Redis round trip
  through one client per process.
"""


def targets(sized: list[SizeResults], keys: list[str], baseline_ref: str | None) -> list[str]:
    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    lines = []
    for key, goal in FLOOR_TARGETS.items():
        index = keys.index(key)
        shares = [(s.size, _ratio(s.current[index].rps, s.floors[index].rps)) for s in sized]
        cpu = [(s.size, s.floors[index], s.current[index]) for s in sized]
        ok = all(share >= goal for _, share in shares)
        detail = ", ".join(f"{share:.1%} at {size:,}" for size, share in shares)
        cpu_detail = ", ".join(f"{_cpu_share(floor, result)} at {size:,}" for size, floor, result in cpu)
        known = all(floor.cpu_ms > 0 and result.cpu_ms > 0 for _, floor, result in cpu)
        cpu_ok = (
            ("met" if all(floor.cpu_ms / result.cpu_ms >= goal for _, floor, result in cpu) else "not met")
            if known
            else "not known everywhere"
        )
        lines.append(
            f"| {sized[0].current[index].name} ≥ {goal:.0%} of its floor | {verdict(ok)} in req/s: {detail} "
            f"(CPU share: {cpu_detail}, {cpu_ok}) |"
        )
    lookup = keys.index("lookup")
    at_size = [s for s in sized if s.size == LATENCY_SIZE]
    if at_size:
        p99 = at_size[0].current[lookup].p99_ms
        lines.append(
            f"| lookup p99 ≤ {LOOKUP_P99_TARGET_MS:g} ms at {LATENCY_SIZE:,} numbers, {CONNECTIONS} connections "
            f"| {verdict(p99 <= LOOKUP_P99_TARGET_MS)}: {p99:.2f} ms |"
        )
    else:
        lines.append(
            f"| lookup p99 ≤ {LOOKUP_P99_TARGET_MS:g} ms at {LATENCY_SIZE:,} numbers | not measured (size not run) |"
        )
    if baseline_ref:
        dashboard = keys.index("dashboard")
        ratios = [(s.size, _ratio(s.current[dashboard].rps, s.baseline[dashboard].rps)) for s in sized]
        detail = ", ".join(f"{ratio:.2f}× at {size:,}" for size, ratio in ratios)
        detail += (
            " (CPU per request: "
            + ", ".join(
                f"{_ratio(s.baseline[dashboard].cpu_ms, s.current[dashboard].cpu_ms):.2f}× less at {s.size:,}"
                for s in sized
            )
            + ")"
        )
        lines.append(
            f"| dashboard /numbers/ ≥ 2× the baseline's req/s | {verdict(all(r >= 2 for _, r in ratios))}: {detail} |"
        )
        for key in ("put", "bulk"):
            index = keys.index(key)
            pairs = [
                (
                    s.size,
                    _ratio(s.current[index].rps, s.floors[index].rps),
                    _ratio(s.baseline[index].rps, s.floors[index].rps),
                )
                for s in sized
            ]
            # "Keeps its share": within the run-to-run noise of a loaded machine (5 % of the share).
            ok = all(now >= then * 0.95 for _, now, then in pairs)
            detail = ", ".join(f"{now:.1%} vs {then:.1%} at {size:,}" for size, now, then in pairs)
            detail += (
                " (CPU ms/req: "
                + ", ".join(
                    f"{s.current[index].cpu_ms:.2f} vs {s.baseline[index].cpu_ms:.2f} at {s.size:,}" for s in sized
                )
                + ")"
            )
            lines.append(
                f"| {sized[0].current[index].name}: share of floor ≥ the baseline's (within 5 %, the run's noise) "
                f"| {verdict(ok)}: {detail} |"
            )
        errors = sum(r.errors for s in sized for r in s.current)
        lines.append(f"| zero non-2xx during the benchmark (this checkout) | {verdict(errors == 0)}: {errors} |")
    return lines


_DUMMY_SEEDED = {
    "token": "",
    "trunk": 0,
    "voice_agents": [0, 0],
    "number_ids": [0] * 500,
    "lookup_number": "+1",
    "size": 1,
}


def add_baseline(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="kalem-baseline-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), ref], cwd=PROJECT, check=True, capture_output=True
    )
    return folder


def remove_baseline(folder: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=PROJECT, check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["2000", "1000000"], help="e.g. 2000 1000000 (or 2000,1000000)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--baseline",
        default=os.environ.get("BENCH_BASELINE", DEFAULT_BASELINE),
        help=f"a commit to measure in the same run (default {DEFAULT_BASELINE}; `none` for none)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the databases an earlier run seeded for these sizes (migrated, a new token): seeding 1M numbers "
        "takes minutes",
    )
    parser.add_argument("--output", default=str(PROJECT / "docs" / "PERFORMANCE.md"))
    args = parser.parse_args()
    args.command = "make bench" + (f' BENCH_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")
    sizes = [int(value) for item in args.sizes for value in item.split(",") if value]
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    baseline_ref = None if args.baseline.lower() in {"", "none", "off"} else args.baseline
    load = open("/proc/loadavg").read().split()[:3]
    sized = []
    baseline = add_baseline(baseline_ref) if baseline_ref else None
    try:
        with tempfile.TemporaryDirectory() as folder:
            for size in sizes:
                sized.append(measure_size(size, args, Path(folder), baseline))
    finally:
        if baseline:
            remove_baseline(baseline)
    text = report(sized, args, baseline_ref, " ".join(load))
    print(text)
    Path(args.output).write_text(text)
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
