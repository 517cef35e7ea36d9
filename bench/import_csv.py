"""`make bench-import`: how long the CSV import of 100,000 rows takes, on PostgreSQL and on
SQLite, through the `importnumbers` command as an operator would run it.

For each database: a fresh database with one account (3 agents, 2 trunks, as `seeddemo`
makes), then, timed from the shell:
  1. `importnumbers FILE --account demo --dry-run`  (100,000 rows to create)
  2. `importnumbers FILE --account demo --apply`    (the import itself)
  3. `importnumbers FILE --account demo --dry-run`  (again: 100,000 unchanged)
The rows assign agents and trunks by name in a mix, with both providers and statuses.

    .venv/bin/python bench/import_csv.py --rows 100000
"""

import argparse
import datetime
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench_import"


def write_csv(path: Path, rows: int) -> None:
    voice = ["Sales Agent", "Support Agent", ""]
    with path.open("w") as out:
        out.write("number,provider,voice_agent,text_agent,trunk,status\n")
        for i in range(rows):
            out.write(
                f"+1415{2000000 + i:07d},{'twilio' if i % 3 == 0 else 'manual'},{voice[i % 3]},"
                f"{'SMS Concierge' if i % 2 else ''},{'Primary Trunk' if i % 4 else ''},"
                f"{'active' if i % 5 else 'inactive'}\n"
            )


def manage(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(label: str, database_url: str, csv_path: Path) -> list[tuple[str, float]]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0"}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
    subprocess.run([PYTHON, "manage.py", "seeddemo"], cwd=PROJECT, env=env, check=True, stdout=subprocess.DEVNULL)
    steps = [
        ("dry run (all to create)", ("--dry-run",)),
        ("import", ("--apply",)),
        ("dry run again (all unchanged)", ("--dry-run",)),
    ]
    results = []
    for name, flags in steps:
        seconds = manage(env, "importnumbers", str(csv_path), "--account", "demo", *flags, "-v0")
        results.append((f"{label}: {name}", seconds))
        print(f"{label:10} {name:32} {seconds:6.1f} s", flush=True)
    return results


def write_report(path: Path, rows: int, results: list[tuple[str, float]]) -> None:
    postgres = subprocess.run(
        ["psql", f"{SERVER}/postgres", "-Atc", "select version()"], capture_output=True, text=True
    ).stdout.split(" on ")[0]
    lines = [
        "# Performance of the CSV import",
        "",
        f"Measured by `make bench-import` on {datetime.date.today()}: {os.cpu_count()} cores, "
        f"{postgres}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}.",
        f"`importnumbers` on a file of {rows:,} rows (numbers new to the account, agents and trunks by "
        "name in a mix, both providers and statuses), timed from the shell, one run each:",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in results),
        "",
        "The import writes each batch of 1,000 rows in its own transaction: the numbers and their",
        "`created` events with COPY on PostgreSQL, multi-row INSERTs on SQLite (`insert_many` in",
        "`kalem_site/db.py`), after one query for the batch's existing numbers.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--output", default=str(PROJECT / "docs" / "PERFORMANCE-import.md"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "numbers.csv"
        write_csv(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB")
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            connection.execute(f"CREATE DATABASE {DATABASE}")
        try:
            results += run("PostgreSQL", f"{SERVER}/{DATABASE}", csv_path)
        finally:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        results += run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", csv_path)
    write_report(Path(args.output), args.rows, results)
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
