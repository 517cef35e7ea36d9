"""`make bench-import` (second part): the dashboard's CSV import of 100,000 rows end to end on
PostgreSQL, as an operator does it, with one worker.

A fresh database (`seeddemo`: the demo account, its agents and trunks), gunicorn with
production settings and one `manage.py worker`; then, over HTTP as the demo operator: upload
the file (the dry run is enqueued), wait until the job's page shows the dry run done, confirm
the import, wait until the page shows it imported. Timed from the upload's POST to the page
saying "Imported".

    .venv/bin/python bench/import_dashboard.py --rows 100000
"""

import argparse
import datetime
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.import_csv import write_csv  # noqa: E402
from tests.live.servers import free_port  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench_dashboard"


def wait_for_state(session: requests.Session, url: str, state: str, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = session.get(url, timeout=30).text
        if f'<span class="badge">{state}</span>' in body:
            return
        if '<span class="badge">Failed</span>' in body:
            raise SystemExit(f"the job failed:\n{body[-3000:]}")
        time.sleep(0.5)
    raise SystemExit(f"the job is not {state} after {timeout} s")


def csrf(body: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "1",  # static files without collectstatic; the work measured is the same
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    processes = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "numbers.csv"
            write_csv(csv_path, args.rows)
            subprocess.run([str(BIN / "python"), "manage.py", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
            subprocess.run(
                [str(BIN / "python"), "manage.py", "seeddemo"],
                cwd=PROJECT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            log = open(Path(tmp) / "servers.log", "ab")
            for command in (
                [str(BIN / "gunicorn"), "kalem_site.wsgi", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"],
                [str(BIN / "python"), "manage.py", "worker"],
            ):
                processes.append(subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT))
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            for _ in range(100):
                try:
                    login = session.get(f"{base}/login/", timeout=10)
                    break
                except (requests.ConnectionError, requests.Timeout):
                    time.sleep(0.2)
            session.post(
                f"{base}/login/",
                data={"username": "demo", "password": "demo-password", "csrfmiddlewaretoken": csrf(login.text)},
                timeout=30,
            ).raise_for_status()
            form = session.get(f"{base}/numbers/import/", timeout=30)
            print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB; PostgreSQL, one worker", flush=True)
            started = time.perf_counter()
            with csv_path.open("rb") as file:
                uploaded = session.post(
                    f"{base}/numbers/import/",
                    data={"csrfmiddlewaretoken": csrf(form.text)},
                    files={"file": ("numbers.csv", file, "text/csv")},
                    timeout=120,
                )
            job_url = uploaded.url
            assert re.search(r"/numbers/import/\d+/$", job_url), job_url
            upload_done = time.perf_counter()
            wait_for_state(session, job_url, "Dry run done")
            checked = time.perf_counter()
            page = session.get(job_url, timeout=30).text
            session.post(f"{job_url}apply/", data={"csrfmiddlewaretoken": csrf(page)}, timeout=30).raise_for_status()
            applied = time.perf_counter()
            wait_for_state(session, job_url, "Imported")
            imported = time.perf_counter()
            body = session.get(job_url, timeout=30).text
            created = re.search(r"<strong>(\d+)</strong> created", body).group(1)
            print(f"upload (stored, counted)       {upload_done - started:6.1f} s")
            print(f"dry run (task, to the page)    {checked - upload_done:6.1f} s")
            print(f"import (task, to the page)     {imported - applied:6.1f} s")
            print(f"end to end (upload → imported) {imported - started:6.1f} s   ({created} created)")
            print(f"measured {datetime.date.today()}, {os.cpu_count()} cores")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
