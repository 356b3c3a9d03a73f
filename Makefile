# Two commands matter: `make run` and `make test`. Everything else is a step they take.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SANDBOX_PORT ?= 8001
WEB_PORT ?= 8000
WEB_WORKERS ?= 2

.PHONY: run test test-fast setup sandbox lint format browser bench loadtest screenshots key clean

## Set everything up, then start the sandbox, the poller and the web server (Ctrl-C stops all).
# scripts/run-stack keeps them together: a poller that dies is restarted (with backoff, and a line
# saying so); the sandbox or the web server stopping (a port already in use, a crash) stops the others
# and make fails. The web server runs WEB_WORKERS processes. Links the sandbox mails (invitations)
# and the dashboard sends (notification mails, webhook URLs) point at the dashboard on WEB_PORT.
run: setup
	@echo
	@echo "  Dashboard:  http://127.0.0.1:$(WEB_PORT)/   sign in as demo / demo-password"
	@echo "  Sandbox:    http://127.0.0.1:$(SANDBOX_PORT)/  (logins in README.md)"
	@echo
	@export NEXICAL_API_URL=http://127.0.0.1:$(SANDBOX_PORT)/nexical; \
	export NEXUSTOKEN_API_URL=http://127.0.0.1:$(SANDBOX_PORT)/nexustoken; \
	export SANDBOX_PUBLIC_URL=http://127.0.0.1:$(SANDBOX_PORT); \
	export NEXICAL_INVITE_URL=http://127.0.0.1:$(WEB_PORT)/invites/accept/; \
	export PUBLIC_URL=http://127.0.0.1:$(WEB_PORT); \
	exec $(PY) scripts/run-stack --sandbox-port $(SANDBOX_PORT) --web-port $(WEB_PORT) --web-workers $(WEB_WORKERS)

## Set everything up and run every test.
test: setup browser
	$(VENV)/bin/pytest

## The quick tier while working: every test but the browser ones and those starting processes of their own.
test-fast: setup
	$(VENV)/bin/pytest -m "not browser and not process"

## The virtualenv, the database, the sandbox's demo data and the demo dashboard user.
setup: $(STAMP) | .sandbox
	$(PY) manage.py migrate --verbosity 0
	$(PY) -m sandbox migrate --verbosity 0
	$(PY) -m sandbox seed_demo --output .sandbox/credentials.json > /dev/null
	$(PY) manage.py demo_user --credentials .sandbox/credentials.json

# The sandbox's SQLite database lives here; a fresh clone does not have it yet.
.sandbox:
	@mkdir -p .sandbox

$(STAMP): requirements.txt requirements-dev.txt
	@PYTHON=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ]; then \
		echo "Creating $(VENV) with $$PYTHON"; \
		"$$PYTHON" -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV) with $$PYTHON." >&2; exit 1; }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

## A Chromium for Playwright: Debian's where present, else Playwright's own download.
# Playwright's download needs system libraries too; only root can install them (--with-deps).
browser: $(STAMP)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null && exit 0; \
	fi; \
	hint="No working Chromium for the browser tests: install Debian's 'chromium' package (sudo apt-get install chromium), or Playwright's with its system libraries (sudo $(VENV)/bin/playwright install --with-deps chromium)."; \
	$(VENV)/bin/playwright install chromium || { echo "$$hint" >&2; exit 1; }; \
	$(PY) scripts/launch-chromium 2>/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
		$(VENV)/bin/playwright install --with-deps chromium && $(PY) scripts/launch-chromium && exit 0; \
	fi; \
	echo "$$hint" >&2; \
	exit 1

## Only the sandbox, with its demo data (http://127.0.0.1:8001).
sandbox: $(STAMP) | .sandbox
	$(PY) -m sandbox serve --port $(SANDBOX_PORT) --seed

## The benchmarks of docs/benchmarks.md, with 50 ms latency: a page needing four upstream calls vs one call; the
## poller and the live pages; a task's webhook reaching its page; pages while both upstreams hang;
## the web process's CPU per page kind; the peak memory of a 100,000-task CSV export.
bench: $(STAMP)
	$(PY) -m bench.team_page
	$(PY) -m bench.poller_viewers
	$(PY) -m bench.poller_branch
	$(PY) -m bench.poller_unwatched
	$(PY) -m bench.live_latency
	$(PY) -m bench.live_streams
	$(PY) -m bench.live_long_log
	$(PY) -m bench.log_viewer
	$(PY) -m bench.task_webhook
	$(PY) -m bench.hung_upstream
	$(PY) -m bench.page_cpu
	$(PY) -m bench.csv_export

## Fifty people for five minutes against the stack `make run` starts (its own ports and fresh databases):
## every page kind, live streams, deploys and task posts; p50/p95/p99 per page kind, errors, lost status
## changes. LOADTEST_USERS, LOADTEST_MINUTES (or LOADTEST_SECONDS), LOADTEST_DATABASE=postgres.
loadtest: $(STAMP)
	$(PY) -m loadtest

## Run the browser tests that take the README's pictures and keep them in docs/screenshots (the other
## shots they take, phone widths and pages without JavaScript, land in test-results/screenshots).
screenshots: $(STAMP) browser
	UPDATE_SCREENSHOTS=1 $(VENV)/bin/pytest tests/browser/test_journeys_orchestrator.py tests/browser/test_connections_browser.py \
		tests/browser/test_live_journey.py tests/browser/test_credits_browser.py tests/browser/test_tasks_browser.py \
		tests/browser/test_money_browser.py

## Lint, format check and type check (what CI runs before the tests).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --config-file sandbox/mypy.toml

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Print a new encryption key for TOKEN_ENCRYPTION_KEYS.
key: $(STAMP)
	@$(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

clean:
	rm -rf $(VENV) .sandbox db.sqlite3 staticfiles .pytest_cache
