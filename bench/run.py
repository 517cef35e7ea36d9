"""`make bench`: the numbers API under load, side by side with what is possible.

On PostgreSQL (127.0.0.1:5432, user postgres) and gunicorn with production settings, for
each N of --sizes: a fresh database seeded with one account of N numbers (agents and trunks
assigned in a realistic mix) plus other accounts' rows as noise; then wrk drives one endpoint
at a time (warm-up first, median of 3 runs), floors F1 and F2 included (bench/floors.py).
Prints the tables and writes them to docs/PERFORMANCE.md.

    .venv/bin/python bench/run.py --sizes 1000,100000,1000000 --duration 10
"""

import argparse
import datetime
import http.cookiejar
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
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
OPERATOR = ("bench", "bench-password-123")
NOISE_ACCOUNTS = 3


@dataclass
class Result:
    name: str
    floor: str | None
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


# Seeding ---------------------------------------------------------------------------------


def server_env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        # Counted, as in production, but high enough never to refuse the benchmark.
        "API_RATE_LIMIT": "1000000000/hour",
        "BENCH_FLOORS": "1",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def reset_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def seed(env: dict, size: int) -> dict:
    """Migrate and seed; returns the token and a few ids the endpoints need."""
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "collectstatic", "--no-input", "-v0")  # the dashboard's CSS, as in production
    token = manage(env, "createtoken", "--account", "Bench", "--name", "bench").strip().splitlines()[-1]
    manage(env, "createoperator", "--account", "Bench", "--username", OPERATOR[0], "--password", OPERATOR[1])
    rng = random.Random(42)
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        accounts = [connection.execute("SELECT id FROM accounts_account WHERE name = 'Bench'").fetchone()[0]]
        for index in range(NOISE_ACCOUNTS):
            accounts.append(
                connection.execute(
                    "INSERT INTO accounts_account (name, created_at) VALUES (%s, %s) RETURNING id",
                    [f"Noise {index}", now],
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
            if account == accounts[0]:
                bench_trunk = trunks[0]
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM numbers_app_phonenumber WHERE account_id = %s ORDER BY id LIMIT 500", [accounts[0]]
            )
            number_ids = [row[0] for row in cursor.fetchall()]
    return {"token": token, "trunk": bench_trunk, "number_ids": number_ids, "size": size}


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
    def __init__(self, env: dict, log: Path):
        self.pidfile = Path(tempfile.mkdtemp()) / "gunicorn.pid"
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "kalem_site.wsgi", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{PORT}",
             "--pid", str(self.pidfile), "--access-logfile", "/dev/null"],
            cwd=PROJECT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{BASE}/bench/f1", timeout=2).read()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    sys.exit(f"gunicorn did not start; see {log}")
                time.sleep(0.3)

    def worker_rss_mb(self) -> float:
        master = self.pidfile.read_text().strip()
        output = subprocess.run(["ps", "-o", "rss=", "--ppid", master], capture_output=True, text=True).stdout
        return sum(int(value) for value in output.split()) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def dashboard_cookie() -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{BASE}/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": OPERATOR[0], "password": OPERATOR[1], "csrfmiddlewaretoken": csrf})
    request = urllib.request.Request(f"{BASE}/login/", data=form.encode(), headers={"Referer": f"{BASE}/login/"})
    opener.open(request).read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


# Load ------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, duration: int, headers: dict, script: Path | None = None) -> tuple[float, float, float, int]:
    command = ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency", "--timeout", "10s"]
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
    return rps, percentile("50"), percentile("99"), errors


def put_script(folder: Path, ids: list[int]) -> Path:
    """Each request updates a number picked at random, alternating its status: real writes."""
    script = folder / "put.lua"
    script.write_text(
        "local ids = {" + ",".join(map(str, ids)) + "}\n"
        "local n = 0\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local status = (n % 2 == 0) and 'active' or 'inactive'\n"
        '  local body = \'{"status": "\' .. status .. \'", "provider": "manual"}\'\n'
        # nil headers: wrk's own, which carry -H Authorization and the Content-Type above
        "  return wrk.format('PUT', '/api/v1/numbers/' .. ids[math.random(#ids)], nil, body)\n"
        "end\n"
    )
    return script


def endpoints(seeded: dict, cookie: str, folder: Path) -> list[tuple]:
    """(name, floor, path, headers, script)."""
    auth = {"Authorization": f"Bearer {seeded['token']}"}
    last_page = max(1, -(-seeded["size"] // 100))
    return [
        ("F1: precomputed page", None, "/bench/f1", {}, None),
        ("F2: raw SQL + orjson", None, "/bench/f2", {}, None),
        ("GET /numbers?per_page=100", "F2", "/api/v1/numbers?per_page=100", auth, None),
        (
            "GET /numbers?status=active&trunk_id=…",
            "F2",
            f"/api/v1/numbers?status=active&trunk_id={seeded['trunk']}",
            auth,
            None,
        ),
        ("GET /numbers?search=<3 digits>", "F2", "/api/v1/numbers?search=555", auth, None),
        ("GET /numbers?per_page=100&page=<last>", "F2", f"/api/v1/numbers?per_page=100&page={last_page}", auth, None),
        ("GET /numbers/{id}", "F1", f"/api/v1/numbers/{seeded['number_ids'][0]}", auth, None),
        ("PUT /numbers/{id}", "F1", "/api/v1/numbers/0", auth, put_script(folder, seeded["number_ids"])),
        ("dashboard /numbers/", "F2", "/numbers/", {"Cookie": cookie}, None),
    ]


def measure(seeded: dict, *, duration: int, runs: int, folder: Path, server: Gunicorn) -> tuple[list[Result], float]:
    """The results, and the workers' RSS once every endpoint has been warmed up."""
    cookie = dashboard_cookie()
    targets = endpoints(seeded, cookie, folder)
    for _, _, path, headers, script in targets:
        wrk(BASE + path, duration=2, headers=headers, script=script)  # warm-up
    warm_rss = server.worker_rss_mb()
    results = []
    for name, floor, path, headers, script in targets:
        samples = [wrk(BASE + path, duration=duration, headers=headers, script=script) for _ in range(runs)]
        rps, p50, p99 = (statistics.median(sample[i] for sample in samples) for i in range(3))
        errors = sum(sample[3] for sample in samples)
        results.append(Result(name, floor, rps, p50, p99, errors))
        print(f"  {name:42} {rps:9.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  errors {errors}", flush=True)
    return results, warm_rss


# Report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    with psycopg.connect(f"{SERVER}/postgres") as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB; PostgreSQL {postgres}; "
        f"Python {platform.python_version()}; gunicorn sync workers per gunicorn.conf.py; wrk -t2 -c8 on the same machine"
    )


def report(by_size: dict[int, list[Result]], rss: dict[int, tuple[float, float, float]], args) -> str:
    largest = max(by_size)
    results = by_size[largest]
    floors = {result.name.split(":")[0]: result.rps for result in results if result.floor is None}
    lines = [
        "# Performance",
        "",
        f"Measured by `make bench` on {datetime.date.today().isoformat()}: {machine()}.",
        f"Each figure is the median of {args.runs} runs of {args.duration} s after a 2 s warm-up, one endpoint at a time,",
        "production settings (DEBUG off, Redis-counted rate limit, persistent connections).",
        "",
        f"## All endpoints at N = {largest:,} numbers in the account",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | vs floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        ratio = f"{result.rps / floors[result.floor]:.0%} of {result.floor}" if result.floor else "—"
        lines.append(
            f"| {result.name} | {result.rps:.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | {result.errors} | {ratio} |"
        )
    sizes = sorted(by_size)
    lines += [
        "",
        "## p50 (ms) by N",
        "",
        "| endpoint | " + " | ".join(f"N = {size:,}" for size in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for index, result in enumerate(results):
        cells = " | ".join(f"{by_size[size][index].p50_ms:.2f}" for size in sizes)
        lines.append(f"| {result.name} | {cells} |")
    lines += [
        "",
        "## gunicorn worker memory (RSS of all workers, MiB)",
        "",
        "Started: before any request. Warm: after a 2 s warm-up of every endpoint, before the measured",
        "runs. After: at the end of the measured runs. Flat means warm ≈ after.",
        "",
        "| N | started | warm | after |",
        "|---:|---:|---:|---:|",
    ]
    for size in sizes:
        started, warm, after = rss[size]
        lines.append(f"| {size:,} | {started:.0f} | {warm:.0f} | {after:.0f} |")
    return "\n".join(lines) + "\n" + APPROACH


APPROACH = """
## How the numbers list stays fast

- **Rows, not models.** The list reads exactly the Number object's columns with
  `.values(...)` and builds each object in one hand-written function
  (`NumberSerializer.to_representation`, fed by `NUMBER_SHAPE`), which also serves a single
  object: one source for the shape. JSON is rendered with orjson.
- **Exact totals without COUNT(\\*).** `NumberTally` holds, per account, how many numbers have
  each combination of status, provider, voice agent, text agent and trunk. Database triggers
  keep it (statement-level with transition tables on PostgreSQL, row-level on SQLite), so it
  is exact whatever writes the numbers. A list without a search sums a few tally rows; the
  dashboard's facet counts are grouped sums over it. With a search, the total is a real
  COUNT(\\*) of the matching rows.
- **Pages as a deferred join, from the nearer end.** A page is first a narrow id query on the
  `(account, id)` index, then the full rows of those ids (the narrow query also keeps the
  planner on that index: costing the wide joined query, it walked the primary key past other
  accounts' rows instead, 40 ms instead of 1 ms at 1M). Pages in the second half of a list are
  read backwards from its end, so the first and the last page cost the same, and a page in the
  middle of N rows skips at most N/2 index entries. Every page is served (API.md §3).
- **Search** uses a trigram GIN index on PostgreSQL over the number's digits
  (`substring(number, 2) LIKE '%555%'`); on `number` itself the planner also used it for
  `number IN (…)` lookups, at seconds each.
- **Per request:** two queries for a get (token, object), three for a list (token, total,
  page), six for an update (token, object, an agent or trunk named, the service's locked
  read, the UPDATE, its audit events); the rate limit is one Redis round trip.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", default=str(PROJECT / "docs" / "PERFORMANCE.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    env = server_env()
    by_size, rss = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(value) for value in args.sizes.split(",")):
            print(f"N = {size:,}: seeding…", flush=True)
            started = time.monotonic()
            reset_database()
            seeded = seed(env, size)
            print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
            server = Gunicorn(env, Path(folder) / f"gunicorn-{size}.log")
            try:
                started_rss = server.worker_rss_mb()
                by_size[size], warm_rss = measure(
                    seeded, duration=args.duration, runs=args.runs, folder=Path(folder), server=server
                )
                rss[size] = (started_rss, warm_rss, server.worker_rss_mb())
            finally:
                server.stop()
    text = report(by_size, rss, args)
    print(text)
    Path(args.output).write_text(text)
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
