# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run   — install, migrate, seed the demo account, print a token, serve on :8000 with a worker
#   make test  — install and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install run worker test bench bench-import bench-outage bench-webhooks bench-overview bench-bulk screenshots lint format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# A secret key made once per checkout and kept out of git; production sets SECRET_KEY itself.
.secret_key:
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

run: install .secret_key
	SECRET_KEY=$$(cat .secret_key) $(BIN)/python manage.py migrate --no-input
	SECRET_KEY=$$(cat .secret_key) $(BIN)/python manage.py collectstatic --no-input -v0
	SECRET_KEY=$$(cat .secret_key) $(BIN)/python manage.py seeddemo
	# The Procfile's web and worker, together; Ctrl-C stops both.
	SECRET_KEY=$$(cat .secret_key) PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start

# One background worker (`make run` starts one already); run more for more throughput.
worker: install .secret_key
	SECRET_KEY=$$(cat .secret_key) $(BIN)/python manage.py worker

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark (not part of the tests): PostgreSQL on 127.0.0.1:5432, wrk, about 15 minutes;
# each endpoint beside its floor and beside the baseline commit (BENCH_BASELINE, default 91835b7);
# then the dashboard's and the admin's page times by N (docs/PERFORMANCE-pages.md, a few minutes).
# BENCH_ARGS="--sizes 2000 --duration 3 --runs 1 --baseline none" BENCH_PAGES_ARGS="--sizes 10000"
# for a quick look.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/pages.py $(BENCH_PAGES_ARGS)

# The CSV import of 100,000 rows, timed on PostgreSQL and SQLite (about 2 minutes), then
# the dashboard's import of 100,000 rows end to end with one worker, on PostgreSQL.
bench-import: install
	$(BIN)/python bench/import_csv.py $(BENCH_ARGS)
	$(BIN)/python bench/import_dashboard.py $(BENCH_DASHBOARD_ARGS)

# Outages under load (throwaway PostgreSQL and Redis, stopped and frozen), a killed worker's
# Idempotency-Key, 50 slow clients: the tables of docs/PERFORMANCE-faults.md (about 4 minutes).
# BENCH_ARGS="--project /tmp/base" runs another checkout (e.g. a `git worktree add` of a commit).
bench-outage: install
	$(BIN)/python bench/outage.py $(BENCH_ARGS)

# Webhooks: delivery of 10,000 messages with 1 and 2 workers, latency, and the bulk change with
# and without an endpoint (PostgreSQL on 127.0.0.1:5432, a few minutes). Writes
# docs/PERFORMANCE-webhooks.md.
bench-webhooks: install
	$(BIN)/python bench/webhooks.py $(BENCH_ARGS)

# The overview (`/`) at 100,000 and 1,000,000 numbers on PostgreSQL: its figures from the
# trigger-kept tables beside the same figures counted over the rows, and the page (about 15 minutes).
bench-overview: install
	$(BIN)/python bench/overview.py $(BENCH_ARGS)

# Bulk by filter: 30,000 numbers reassigned by one API request, run as a job by one worker
# (PostgreSQL on 127.0.0.1:5432, a few minutes). Writes docs/PERFORMANCE-bulk.md.
bench-bulk: install
	$(BIN)/python bench/bulk_filter.py $(BENCH_ARGS)

# Re-take the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: install
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
