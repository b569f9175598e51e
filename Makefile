# Engage: two commands on a fresh machine.
#   make run    install everything, then serve the app with the sample models
#   make test   install everything, then run the whole test suite
# Both are idempotent: a second call only does what changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
TOOLS     := tools
BUN       := $(TOOLS)/bun/node_modules/.bin/bun
BUN_VERSION := 1.4.4
REDIS_URL ?= redis://127.0.0.1:6379/0

# Reflex: bun from the npm registry on PATH, no telemetry, no version check.
export PATH := $(CURDIR)/$(TOOLS)/bun/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := true
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export REFLEX_DIR := $(CURDIR)/.reflex_home
export NPM_CONFIG_REGISTRY := https://registry.npmjs.org

# Find a Python >= 3.12 (Calliope 0.7 needs it; the pins were tested on 3.12, so 3.12 first):
# $PYTHON, python3.12 on PATH, python3.13, python3, then pyenv's versions.
define FIND_PYTHON
ok() { "$$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }; \
for c in "$${PYTHON:-}" python3.12 python3.13 python3; do \
  [ -n "$$c" ] && command -v "$$c" >/dev/null 2>&1 && ok "$$c" && { command -v "$$c"; exit 0; }; \
done; \
for root in "$$(pyenv root 2>/dev/null)" "$$HOME/.pyenv" /root/.pyenv; do \
  [ -d "$$root/versions" ] || continue; \
  for v in $$(ls "$$root/versions" | grep -E '^3\.12(\.|$$)' | sort -V -r) \
           $$(ls "$$root/versions" | grep -E '^3\.1[3-9](\.|$$)' | sort -V); do \
    for b in "$$root/versions/$$v/bin/python3.12" "$$root/versions/$$v/bin/python3"; do \
      [ -x "$$b" ] && ok "$$b" && { echo "$$b"; exit 0; }; \
    done; \
  done; \
done; exit 1
endef

# apt_install "PKGS" "why": Debian's packages when we are root with apt-get; else fails.
define APT_INSTALL
apt_install() { \
  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1; \
  echo "Installing $$1 from Debian's packages ($$2)"; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$1 >/dev/null; \
}
endef

.PHONY: help run test install system-deps test-system-deps bun services redis postgres migrate seed bench lint clean

help:
	@echo "make run   - install everything, then start Engage with the sample models"
	@echo "make test  - install everything, then run the whole test suite"
	@echo "make bench - print the benchmarks (run overhead, editor pages, model copy, uploads, results page, status latency)"

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x "$(VPY)" ]; then \
	  PY="$$( $(FIND_PYTHON) )" || { \
	    echo "error: Engage needs Python 3.12 or newer (Calliope 0.7 requires it) and none was found." >&2; \
	    echo "       Install python3.12 (apt, pyenv install 3.12, ...) or run: make PYTHON=/path/to/python3.12 ..." >&2; \
	    exit 1; }; \
	  echo "Creating $(VENV) with $$PY"; \
	  "$$PY" -m venv $(VENV); \
	fi
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) bun system-deps

# CBC and GLPK from Debian's packages (HiGHS comes with pip); redis-server if none answers.
system-deps:
	@missing=""; \
	command -v cbc >/dev/null || missing="$$missing coinor-cbc"; \
	command -v glpsol >/dev/null || missing="$$missing glpk-utils"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	$(APT_INSTALL); \
	if [ -n "$$missing" ]; then \
	  apt_install "$$missing" "solvers, Redis" || \
	    echo "note: please install$$missing (as root: apt-get install$$missing); HiGHS works without them."; \
	fi

test-system-deps:
	@$(APT_INSTALL); \
	command -v chromium >/dev/null || apt_install chromium "browser tests" || { \
	  echo "error: the browser tests need Debian's chromium (apt-get install chromium)" >&2; exit 1; }

# bun from the npm registry (Reflex's own download needs hosts this network does not reach).
bun: $(BUN)
$(BUN):
	@$(APT_INSTALL); \
	command -v npm >/dev/null || apt_install npm "to fetch bun" || { \
	  echo "error: npm (Node.js) is needed to fetch bun for the web frontend; install it (apt-get install npm)" >&2; exit 1; }
	mkdir -p $(TOOLS)/bun
	cd $(TOOLS)/bun && ( [ -f package.json ] || npm init -y >/dev/null ) && npm install --silent --no-audit --no-fund bun@$(BUN_VERSION)
	@$(BUN) --version >/dev/null

redis: $(STAMP) system-deps
	@if ! $(VPY) -c "import redis,sys; redis.Redis.from_url('$(REDIS_URL)', socket_connect_timeout=2).ping()" >/dev/null 2>&1; then \
	  case "$(REDIS_URL)" in \
	    redis://127.0.0.1*|redis://localhost*) \
	      echo "Starting a local redis-server"; \
	      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null ;; \
	    *) echo "error: Redis does not answer at $(REDIS_URL)" >&2; exit 1 ;; \
	  esac; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do \
	    $(VPY) -c "import redis; redis.Redis.from_url('$(REDIS_URL)').ping()" >/dev/null 2>&1 && break; sleep 0.5; \
	  done; \
	fi

# The tests use PostgreSQL at 127.0.0.1:5432 (database "test") beside SQLite.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then \
	    echo "Starting the local PostgreSQL cluster"; \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start || true; \
	    for i in $$(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done; \
	  fi; \
	  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	    echo "error: the tests need PostgreSQL at 127.0.0.1:5432 (trust auth, database test)." >&2; \
	    echo "       Start it, point ENGAGE_TEST_POSTGRES_URL at one, or set ENGAGE_TEST_SKIP_POSTGRES=1." >&2; \
	    [ "$${ENGAGE_TEST_SKIP_POSTGRES:-}" = 1 ] || exit 1; }; \
	fi

services: redis

migrate: $(STAMP)
	$(VENV)/bin/engage migrate

run: install services
	$(VENV)/bin/engage serve

# Database and unit tests use both cores (each test has its own database). Then the job tests
# (real workers) and the browser tests (one shared app server) run side by side: each mostly
# waits for its workers, solver or browser, so together they fill the two cores. Each has its
# own Redis databases (jobs: 15; browser: 14 for the app, 12 for anything else); their lines
# are marked [jobs] and [e2e].
test: install test-system-deps redis postgres
	@status=0; \
	$(VPY) -m pytest -q --durations=20 -n 2 --dist loadfile tests/service tests/unit || status=1; \
	( $(VPY) -m pytest -q --durations=20 -p no:cacheprovider tests/jobs 2>&1 | sed -u 's/^/[jobs] /'; \
	  exit $${PIPESTATUS[0]} ) & jobs_pid=$$!; \
	ENGAGE_TEST_REDIS_URL=redis://127.0.0.1:6379/12 $(VPY) -m pytest -q --durations=20 tests/e2e 2>&1 | sed -u 's/^/[e2e] /'; \
	[ $${PIPESTATUS[0]} -eq 0 ] || status=1; \
	wait $$jobs_pid || status=1; \
	exit $$status

bench: install test-system-deps services
	$(VPY) bench/run_overhead.py
	$(VPY) bench/copy_model.py
	$(VPY) bench/builder_pages.py
	$(VPY) bench/upload.py
	$(VPY) bench/results_page.py
	$(VPY) bench/status_latency.py

clean:
	rm -rf .web .states $(VENV) $(TOOLS) .reflex_home
