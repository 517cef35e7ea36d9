"""`make bench` (after bench/run.py): the server time of each dashboard and admin page by N.

For each N of --sizes, a fresh PostgreSQL database (127.0.0.1:5432) seeded by bench/run.py's
seed() (one account of N numbers, agents and trunks in a realistic mix, other accounts' rows
as noise), plus one audit event per number (what creating them writes) and a staff user; then
gunicorn with production settings serves it, and each page is asked --requests times in a row
on one keep-alive connection, signed in (a dashboard operator, or staff for /admin/), after
--warmup requests. The time of a request is from sending it to having read the whole
response, on 127.0.0.1: the server's time plus a loopback round trip. Writes the p50-by-N
table, each page marked against the goal (issue 15 item 4), to docs/PERFORMANCE-pages.md.

    .venv/bin/python bench/pages.py --sizes 100000,1000000
"""

import argparse
import datetime
import http.client
import http.cookiejar
import math
import os
import re
import socket
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench import run as api_bench  # noqa: E402  (the seeding and serving of `make bench`)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Its own database and a free port, so that it never meets bench/run.py's (or anything else
# listening on this machine).
DATABASE = "kalem_bench_pages"
PORT = _free_port()
BASE = f"http://127.0.0.1:{PORT}"
STAFF = ("bench-staff", "bench-staff-password-123")
# Server time goals (ms) of issue 15 item 4, by N; sizes between use the larger goal.
GOALS = {100_000: 100, 1_000_000: 200}


def goal_for(size: int) -> int:
    return next((goal for limit, goal in sorted(GOALS.items()) if size <= limit), max(GOALS.values()))


# Seeding ---------------------------------------------------------------------------------


def seed(env: dict, size: int) -> dict:
    seeded = api_bench.seed(env, size, database=DATABASE)
    api_bench.manage(
        env,
        "shell",
        "-c",
        "from kalem_site.accounts.models import User; "
        f"User.objects.create_superuser({STAFF[0]!r}, password={STAFF[1]!r})",
    )
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(f"{api_bench.SERVER}/{DATABASE}") as connection:
        account = connection.execute("SELECT id FROM accounts_account WHERE name = 'Bench'").fetchone()[0]
        # One "created" event per number of every account, as an import writes them.
        # The state as numbers_app.audit.number_state() records it: assignments as {id, name}.
        assigned = ", ".join(
            f"'{field}', CASE WHEN {alias}.id IS NULL THEN NULL "
            f"ELSE jsonb_build_object('id', {alias}.id, 'name', {alias}.name) END"
            for field, alias in (("voice_agent", "v"), ("text_agent", "t"), ("trunk", "s"))
        )
        connection.execute(
            "INSERT INTO numbers_app_numberevent (account_id, number_id, number, action, field, before, after, "
            "actor_type, actor_name, channel, occurred_at) "
            "SELECT n.account_id, n.id, n.number, 'created', '', NULL, "
            f"jsonb_build_object('status', n.status, 'provider', n.provider, {assigned}), "
            "'user', 'bench', 'dashboard', %s "
            "FROM numbers_app_phonenumber n "
            "LEFT JOIN agents_app_voiceagent v ON v.id = n.voice_agent_id "
            "LEFT JOIN agents_app_textagent t ON t.id = n.text_agent_id "
            "LEFT JOIN numbers_app_siptrunk s ON s.id = n.trunk_id ORDER BY n.id",
            [now],
        )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        middle = connection.execute(
            "SELECT id FROM numbers_app_phonenumber WHERE account_id = %s ORDER BY id OFFSET %s LIMIT 1",
            [account, size // 2],
        ).fetchone()[0]
        everyone = connection.execute("SELECT COUNT(*) FROM numbers_app_phonenumber").fetchone()[0]
    return {**seeded, "middle_number": middle, "all_numbers": everyone}


class Server(api_bench.Gunicorn):
    """bench/run.py's gunicorn on this benchmark's port, given longer to start on a loaded
    machine (its own wait is 60 s), and never left running when it does not start."""

    def __init__(self, env: dict, log: Path):
        try:
            super().__init__(env, log, port=PORT)
        except SystemExit:
            deadline = time.monotonic() + 120
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{BASE}/login/", timeout=5).read()
                    return
                except OSError:
                    time.sleep(1)
            self.process.terminate()
            self.process.wait(timeout=30)
            raise


# Measuring -------------------------------------------------------------------------------


def signed_in_cookie(login_path: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{BASE}{login_path}").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
    request = urllib.request.Request(f"{BASE}{login_path}", data=form.encode(), headers={"Referer": BASE + login_path})
    opener.open(request).read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def pages(seeded: dict) -> list[tuple[str, str, str]]:
    """(name, path, who): who is "operator" or "staff"."""
    size = seeded["size"]
    last = max(1, math.ceil(size / 15))
    admin_last = max(1, math.ceil(seeded["all_numbers"] / 100))
    return [
        ("dashboard list, page 1", "/numbers/", "operator"),
        ("dashboard ?search=1", "/numbers/?search=1", "operator"),
        ("dashboard ?search=555", "/numbers/?search=555", "operator"),
        ("dashboard filtered (status, trunk)", f"/numbers/?status=active&trunk_id={seeded['trunk']}", "operator"),
        ("dashboard last page", f"/numbers/?page={last}", "operator"),
        ("dashboard middle page", f"/numbers/?page={(last + 1) // 2}", "operator"),
        ("number detail", f"/numbers/{seeded['middle_number']}/", "operator"),
        ("activity", "/activity/", "operator"),
        ("jobs", "/jobs/", "operator"),
        ("webhooks", "/webhooks/", "operator"),
        ("admin numbers", "/admin/numbers_app/phonenumber/", "staff"),
        ("admin numbers ?q=555", "/admin/numbers_app/phonenumber/?q=555", "staff"),
        # (the last page when there are fewer: the admin redirects a page past the end)
        ("admin numbers ?p=1000", f"/admin/numbers_app/phonenumber/?p={min(1000, admin_last)}", "staff"),
        ("admin numbers last page", f"/admin/numbers_app/phonenumber/?p={admin_last}", "staff"),
        ("admin events", "/admin/numbers_app/numberevent/", "staff"),
    ]


def time_page(path: str, cookie: str, *, warmup: int, requests: int) -> float:
    """The p50 in ms of `requests` sequential GETs on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    samples = []
    try:
        for index in range(warmup + requests):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                sys.exit(f"GET {path}: {response.status}\n{body[:2000].decode(errors='replace')}")
            if index >= warmup:
                samples.append(elapsed)
    finally:
        connection.close()
    return statistics.median(samples)


def measure(seeded: dict, args) -> dict[str, float]:
    """The p50 of each page, and (under "load") the machine's 1-minute load average before and
    after: other work on the machine slows every page alike."""
    cookies = {
        "operator": signed_in_cookie("/login/", *api_bench.OPERATOR),
        "staff": signed_in_cookie("/admin/login/?next=/admin/", *STAFF),
    }
    results = {}
    load_before = os.getloadavg()[0]
    for name, path, who in pages(seeded):
        results[name] = time_page(path, cookies[who], warmup=args.warmup, requests=args.requests)
        print(f"  {name:38} p50 {results[name]:8.1f} ms   {path}", flush=True)
    LOAD[seeded["size"]] = (load_before, os.getloadavg()[0])
    return results


LOAD: dict[int, tuple[float, float]] = {}


# Report ----------------------------------------------------------------------------------


def machine() -> str:
    # bench/run.py's description of the machine, without its wrk settings (not used here).
    return api_bench.machine().split("; gunicorn")[0]


def report(by_size: dict[int, dict[str, float]], args) -> str:
    sizes = sorted(by_size)
    names = list(by_size[sizes[0]])
    lines = [
        "# Performance: dashboard and admin pages",
        "",
        f"Measured by `make bench` (`bench/pages.py`) on {datetime.date.today().isoformat()}: {machine()}.",
        f"Each figure is the p50 of {args.requests} sequential requests (after {args.warmup} warm-up requests) on one",
        "keep-alive connection, signed in, one page at a time: the server's time plus a loopback round trip.",
        "Production settings (DEBUG off), gunicorn per gunicorn.conf.py with 2 workers, one audit event per number.",
        "",
        "Machine load (1-minute load average on its "
        f"{os.cpu_count()} cores, before → after each size's pages): "
        + ", ".join(f"N = {size:,}: {before:.1f} → {after:.1f}" for size, (before, after) in sorted(LOAD.items())),
        "",
        "Goal (issue 15 item 4): every page ≤ 100 ms at 100k numbers and ≤ 200 ms at 1M.",
        "",
        "| page | " + " | ".join(f"N = {size:,} (goal {goal_for(size)} ms)" for size in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    misses = []
    for name in names:
        cells = []
        for size in sizes:
            p50 = by_size[size][name]
            met = p50 <= goal_for(size)
            cells.append(f"{p50:.1f} {'met' if met else '**missed**'}")
            if not met:
                misses.append((name, size, p50))
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        "The machine's floor in this run: the Jobs page, which reads no numbers (at most 50 jobs), took "
        + ", ".join(f"{by_size[size]['jobs']:.1f} ms at N = {size:,}" for size in sizes)
        + ". A page's time above that floor is what its own work costs.",
        "",
        "## Misses",
        "",
    ]
    if misses:
        for name, size, p50 in misses:
            why = WHY.get(name, "")
            if by_size[size]["jobs"] > goal_for(size) / 2:
                loaded = _LOADED.format(floor=by_size[size]["jobs"])
                why = loaded + (why or "Beyond that load, no cause of its own was found in this run.")
            lines.append(f"- **{name}** at N = {size:,}: {p50:.1f} ms. {why}")
    else:
        lines.append("None: every page met its goal in this run.")
    return "\n".join(lines) + "\n" + APPROACH


# Why a page may miss its goal, for the report (kept true by whoever changes the page).
_LOADED = (
    "Measured on a machine shared with other work (see the load average above), where even the "
    "Jobs page, which reads no numbers, took {floor:.0f} ms. "
)
WHY = {
    "dashboard ?search=1": (
        "A one-digit search matches most numbers; the list's total and its facet counts are "
        "counted over every match (COUNT(*) and GROUP BY over hundreds of thousands of rows): "
        "searched facet counts and totals are numbers_app/tally.py's to bound."
    ),
    "dashboard ?search=555": "The total and the facet counts are counted over every match (see ?search=1).",
    "dashboard middle page": (
        "The middle of N rows is N/2 index entries from either end: deferred joins make each a "
        "narrow index entry, not a row, but they are still read."
    ),
    "admin numbers": (
        "Django's admin renders 100 rows (list_per_page) of nine columns through its own "
        "templates, each cell a lookup_field() and format_html() call: most of the page's time."
    ),
    "admin numbers ?q=555": "The 100 rows' rendering (see admin numbers), and a COUNT(*) of the matches.",
    "admin numbers ?p=1000": (
        "The 100 rows' rendering (see admin numbers), and 99,900 index entries skipped to reach the page."
    ),
    "admin numbers last page": "The 100 rows' rendering (see admin numbers).",
    "admin events": "Django's admin renders 100 rows of seven columns (see admin numbers), and COUNT(*) of the events.",
}

APPROACH = """
## How the pages stay fast

- **Pages as deferred joins from the nearer end** (`kalem_site.paging.page_rows`, the API's
  own paging): the page's ids first from the narrow `(account, id)` index, then those rows
  with their joins; pages past the middle read backwards from the end. The dashboard's numbers
  list and Activity page and the admin's numbers changelist page this way
  (`CountedPaginator`), so the last page costs what the first does.
- **Totals from NumberTally**: the dashboard list without a search and the admin's numbers
  changelist without a search (with its status, provider, account, agent and trunk filters)
  take their total from the tally, not COUNT(\\*); the admin shows no full count
  (`show_full_result_count = False`).
- **Searches through the digits' trigram index**: the admin's numbers search, for digits,
  uses the same `substring(number, 2) LIKE '%…%'` expression as the dashboard and the API.
- **Rendering**: the numbers list's selects are rendered in Python (byte-identical to
  Django's widget templates), its row links reversed once per page, its dates formatted
  without parsing a format string, the user and their account read in one query, the
  account's agents and trunks in one.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--output", default=str(PROJECT / "docs" / "PERFORMANCE-pages.md"))
    args = parser.parse_args()
    # Requests come one at a time: two workers serve them, and start sooner than 2×cores+1.
    env = {**api_bench.server_env(DATABASE), "WEB_CONCURRENCY": "2"}
    by_size = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(value) for value in args.sizes.split(",")):
            print(f"N = {size:,}: seeding…", flush=True)
            started = time.monotonic()
            api_bench.reset_database(DATABASE)
            seeded = seed(env, size)
            print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
            server = Server(env, Path(folder) / f"gunicorn-{size}.log")
            try:
                by_size[size] = measure(seeded, args)
            finally:
                server.stop()
    text = report(by_size, args)
    print(text)
    Path(args.output).write_text(text)
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
