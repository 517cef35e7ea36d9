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
import os
import secrets
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "numbers.csv"
        write_csv(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB")
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            connection.execute(f"CREATE DATABASE {DATABASE}")
        try:
            run("PostgreSQL", f"{SERVER}/{DATABASE}", csv_path)
        finally:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", csv_path)


if __name__ == "__main__":
    main()
