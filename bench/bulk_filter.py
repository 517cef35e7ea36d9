"""`make bench-bulk`: 30,000 numbers reassigned in one action on PostgreSQL (issue 15.1), end to
end over HTTP with one worker.

A fresh database with one account: 30,000 numbers on trunk "Old" and 3,000 on no trunk;
gunicorn with production settings and one `manage.py worker`. Then, as an API client:
`POST /api/v1/numbers/bulk {"action": "assign", "filter": {"trunk_id": Old}, "trunk_id": New}`
(answered 202 with a job; the matching ids are snapshotted in that request), polling the job's
`Location` every 0.2 s until it is done. Timed from the POST to the poll that sees `done`;
rows/s is numbers changed per second of that. Run twice in the same session: without a
webhook endpoint, then (moving them back) with one subscribed endpoint, so that the job also
writes the webhook outbox's entries for every number, to compare the two in one run.

    .venv/bin/python bench/bulk_filter.py --numbers 30000
"""

import argparse
import datetime
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live.servers import free_port  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench_bulk"
REPORT = PROJECT / "docs" / "PERFORMANCE-bulk.md"

SEED = """
from kalem_site.accounts.models import Account
from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber, SipTrunk
account = Account.objects.create(name="Bench")
old, new = (
    SipTrunk.objects.create(account=account, name=name, direction="inbound", auth_type="ip", host="10.0.0.1")
    for name in ("Old", "New")
)
PhoneNumber.objects.bulk_create(
    [PhoneNumber(account=account, number=f"+1415{{2000000 + i:07d}}", trunk=old) for i in range({numbers})]
    + [PhoneNumber(account=account, number=f"+1303{{2000000 + i:07d}}") for i in range({numbers} // 10)],
    batch_size=5000,
)
print(old.pk, new.pk, token_create(account=account, name="bench").plaintext)
"""


def reassign(session: requests.Session, base: str, source: int, target: int) -> dict:
    started = time.perf_counter()
    response = session.post(
        f"{base}/api/v1/numbers/bulk",
        json={"action": "assign", "filter": {"trunk_id": source}, "trunk_id": target},
        timeout=60,
    )
    accepted = time.perf_counter()
    if response.status_code != 202:
        raise SystemExit(f"expected 202, got {response.status_code}: {response.text[:2000]}")
    location = response.headers["Location"]
    while True:
        job = session.get(location, timeout=30).json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    finished = time.perf_counter()
    if job["state"] != "done":
        raise SystemExit(f"the job failed: {job}")
    return {"job": job, "accept": accepted - started, "total": finished - started}


def count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=30_000)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/PERFORMANCE-bulk.md")
    args = parser.parse_args()
    port = free_port()
    database_url = f"{SERVER}/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "DEBUG": "0",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "API_RATE_LIMIT": "off",
        # The endpoint of the second run is a closed local port: its deliveries fail and
        # wait for their retry; what is measured is the bulk change writing the messages.
        "WEBHOOK_ALLOW_INSECURE": "1",
    }
    env.pop("REDIS_URL", None)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    processes = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            python = str(BIN / "python")
            subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
            seeded = subprocess.run(
                [python, "manage.py", "shell", "-c", SEED.format(numbers=args.numbers)],
                cwd=PROJECT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            old, new, token = seeded.stdout.split()[-3:]
            log = open(Path(tmp) / "servers.log", "ab")
            for command in (
                [str(BIN / "gunicorn"), "kalem_site.wsgi", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"],
                [python, "manage.py", "worker"],
            ):
                processes.append(subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT))
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            for _ in range(150):
                try:
                    session.get(f"{base}/api/v1/numbers", params={"per_page": 1}, timeout=10).raise_for_status()
                    break
                except (requests.ConnectionError, requests.Timeout):
                    time.sleep(0.2)
            print(f"{args.numbers:,} numbers to reassign (of {args.numbers * 11 // 10:,}); PostgreSQL, one worker")
            plain = reassign(session, base, int(old), int(new))
            print(f"without webhooks: 202 in {plain['accept']:.2f} s, done in {plain['total']:.1f} s", flush=True)
            session.post(
                f"{base}/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, timeout=30
            ).raise_for_status()
            hooked = reassign(session, base, int(new), int(old))
            print(f"with a webhook endpoint: 202 in {hooked['accept']:.2f} s, done in {hooked['total']:.1f} s")
            events = count(database_url, "SELECT COUNT(*) FROM numbers_app_numberevent WHERE field = 'trunk'")
            moved = count(database_url, f"SELECT COUNT(*) FROM numbers_app_phonenumber WHERE trunk_id = {int(old)}")
            assert plain["job"]["changed"] == hooked["job"]["changed"] == args.numbers, (plain, hooked)
            assert events == 2 * args.numbers and moved == args.numbers
            postgres = subprocess.run(
                ["psql", f"{SERVER}/postgres", "-Atc", "select version()"], capture_output=True, text=True
            ).stdout.split(" on ")[0]
            rows = [
                ("without webhook endpoints", plain),
                ("with one subscribed endpoint (its outbox entries in every chunk)", hooked),
            ]
            table = [
                "| run | 202 answered | done | numbers/s |",
                "|---|---:|---:|---:|",
                *(
                    f"| {label} | {run['accept']:.2f} s | {run['total']:.1f} s | "
                    f"{run['job']['changed'] / run['total']:,.0f} |"
                    for label, run in rows
                ),
            ]
            print("\n".join(table))
            if not args.no_report:
                write_report(args.numbers, postgres, table, plain, hooked)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a worker still sending the failing deliveries
                process.kill()
                process.wait(timeout=10)
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def write_report(numbers: int, postgres: str, table: list[str], plain: dict, hooked: dict) -> None:
    lines = [
        "# Performance of bulk changes by filter",
        "",
        f"Measured by `make bench-bulk` (`bench/bulk_filter.py --numbers {numbers}`) on {datetime.date.today()}: "
        f"{os.cpu_count()} cores (load average {' '.join(f'{value:.2f}' for value in os.getloadavg())} when "
        f"it finished), {postgres}, Python {platform.python_version()}; "
        "gunicorn with production settings and one `manage.py worker`, on 127.0.0.1.",
        "",
        f'One API request reassigns the {numbers:,} numbers of an account\'s trunk "Old" (of '
        f'{numbers * 11 // 10:,}) to trunk "New": `POST /api/v1/numbers/bulk` with '
        '`{"action": "assign", "filter": {"trunk_id": Old}, "trunk_id": New}`, answered 202 with a job, '
        'then its `Location` polled every 0.2 s until the job is `done`. "done" is from the POST to the poll '
        "that saw it done; numbers/s is numbers changed per second of that. The second run moves them back "
        "with a subscribed webhook endpoint, so that every chunk also writes its numbers' snapshots and an "
        "outbox row (webhooks_app/outbox.py), of which the delivering worker later makes the messages.",
        "",
        *table,
        "",
        f"Each run wrote {numbers:,} audit events (one per number changed) and, in the second, their webhook "
        "outbox entries; the bench checks the events and that exactly the matching numbers moved.",
        "",
        "How it runs (`numbers_app/bulk_jobs.py`): the request that accepts the action snapshots the "
        "matching ids with one `INSERT … SELECT` into `numbers_app_bulkjobnumber` and enqueues the job in the "
        "same transaction (the 202's time above). The worker then takes the snapshot in chunks of 1,000 ids, "
        "in id order; each chunk locks the numbers of the chunk that still match the filter (PostgreSQL "
        "re-checks the filter on each locked row), changes them through `number_bulk_apply` (one UPDATE, one "
        "COPY of the audit events and, when an endpoint is subscribed, the outbox's snapshot `INSERT … SELECT` "
        "and row) and records the job's "
        "progress, all in one transaction, so a worker killed mid-job leaves whole chunks done and the next "
        "worker continues after the last one (`tests/live/test_bulk_jobs_worker.py`).",
        "",
        "The 202 grows with the number of matching ids (the snapshot reads and writes each). On an account "
        "of 1,000,000 numbers (`make bench`'s), measured by hand on 2026-12-01 on this machine, otherwise "
        "idle (`filter: {}` through gunicorn, three requests), it took 1.5 to 2.1 s (9 to 16 s earlier the "
        "same day with the machine loaded by other work): the snapshot statement runs with "
        "`DB_STATEMENT_TIMEOUT_LONG` (`kalem_site.db.long_statements`), not the requests' 5 s, so that any "
        "account can be changed as a whole; the numbers are then changed by the worker as above.",
    ]
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
