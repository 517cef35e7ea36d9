"""The outage experiment (`make bench-outage`; about 4 minutes; not part of the tests): a
checkout's gunicorn (its own gunicorn.conf.py) on a throwaway PostgreSQL cluster and Redis,
under bounded load, while each dependency is stopped and frozen; then an Idempotency-Key
whose worker is killed, and 50 slow clients. Prints the tables of docs/PERFORMANCE-faults.md.

    .venv/bin/python bench/outage.py                      # this checkout
    git worktree add /tmp/base 8892048
    .venv/bin/python bench/outage.py --project /tmp/base  # another checkout, with this venv

Freezes last longer than gunicorn's 30 s worker timeout, so that a server without bounded
waits shows what its clients then get."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live import faults  # noqa: E402


def histogram(run: faults.Run) -> str:
    counts = run.histogram()
    return ", ".join(f"{status}: {counts[status]}" for status in sorted(counts, key=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=faults.PROJECT, help="the checkout to serve")
    parser.add_argument("--freeze", type=float, default=35, help="seconds each freeze lasts")
    parser.add_argument("--stop", type=float, default=4, help="seconds each stop lasts")
    parser.add_argument("--slow-seconds", type=float, default=30)
    args = parser.parse_args()
    missing = faults.tools_available()
    if missing:
        sys.exit(missing)
    log = Path(tempfile.mkdtemp(prefix="kalem-outage-")) / "gunicorn.log"
    print(f"Serving {args.project} (gunicorn log: {log})\n")
    rows = []
    with faults.dependencies() as (postgres, redis):
        env = faults.app_env(args.project, postgres, redis)
        with faults.serve(args.project, env, log) as app:
            scenarios = [
                ("PostgreSQL stopped", postgres.stop, postgres.start, args.stop, faults.recovery_of_writes),
                ("PostgreSQL frozen", postgres.freeze, postgres.thaw, args.freeze, faults.recovery_of_writes),
                ("Redis stopped", redis.stop, redis.start, args.stop, faults.recovery_of_counting),
                ("Redis frozen", redis.freeze, redis.thaw, args.freeze, faults.recovery_of_counting),
            ]
            for name, begin, end, during, recovery in scenarios:
                started = time.monotonic()
                run = faults.outage(app, postgres, name, begin, end, during=during, timeout=40)
                slowest = max(answer.ended - answer.started for answer in run.answers)
                rows.append(
                    (
                        f"{name} ({during:g} s)",
                        len(run.answers),
                        histogram(run),
                        sum(1 for answer in run.bad_answers()),
                        f"{len(run.acknowledged)} / {len(run.acknowledged & run.found)}",
                        len(run.half_written),
                        recovery(run),
                        f"{slowest:.1f}",
                        "yes" if run.workers_replaced else "no",
                    )
                )
                print(f"{name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
            killed = faults.killed_first_request(app, postgres)
            slow = faults.slow_clients(app, sockets=50, duration=args.slow_seconds)

    print(
        "| scenario | requests | statuses | not JSON 2xx/429/503 | writes acknowledged / found "
        "| half-written rows | recovery (s) | slowest answer (s) | workers replaced |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        recovery = "—" if row[6] is None else f"{row[6]:.2f}"
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]} | {row[4]} | {row[5]} | {recovery} | {row[7]} | {row[8]} |")
    print()
    usable = killed["usable_after"]
    print(
        "Idempotency-Key whose first request's worker was SIGKILLed: retries "
        + ", ".join(f"{status}: {count}" for status, count in sorted(killed["retries"].items(), key=str))
        + "; the key usable again "
        + (f"{usable} s after the kill" if usable is not None else "not within 20 s")
        + f"; number {killed['status']}, {killed['deactivated_events']} deactivated event(s)."
    )
    print()
    print("| 50 slow clients, 30 s | normal requests | 200 | other | p50 (s) | p99 (s) | max (s) |")
    print("|---|---:|---:|---|---:|---:|---:|")
    others = ", ".join(f"{status}: {count}" for status, count in slow["statuses"].items() if status != 200) or "—"
    print(f"| | {slow['requests']} | {slow['ok']} | {others} | {slow['p50']} | {slow['p99']} | {slow['max']} |")


if __name__ == "__main__":
    main()
