# Guichet: `make run` serves the embedded default, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test lint format bench install assets browser mailserver db requirements worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
assets: node_modules/.installed

# Debian's Chromium for browser tests (never a tool's own browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; fi; }

# Debian's Dovecot: the IMAP tests start their own server with it (never the system's).
mailserver:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "dovecot is missing: run 'sudo apt-get install dovecot-imapd' (IMAP tests will be skipped)"; fi; }

db: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo --if-empty
	$(BIN)/flask workflows sync

run: install assets db
	$(BIN)/flask run --port $(PORT) --debug

worker: install
	$(BIN)/flask jobs worker --with-scheduler

test: install assets browser mailserver
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install assets
	$(BIN)/python -m bench

requirements:
	$(PYTHON) -m venv /tmp/guichet-piptools && /tmp/guichet-piptools/bin/pip install --quiet pip-tools
	/tmp/guichet-piptools/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --annotation-style=line requirements.in -o requirements.txt
	/tmp/guichet-piptools/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --annotation-style=line requirements-dev.in -o requirements-dev.txt

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .ruff_cache
