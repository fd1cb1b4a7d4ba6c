# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup openapi dynalite run test lint typecheck bench bench-presence clean web-vendor lock

# Every package, the transitive ones and pip itself included, is pinned with its hashes
# (requirements.txt: what the Lambda bundles; requirements-dev.txt: that plus the tooling), and
# installed in pip's hash-checking mode: a file that differs from the one locked is refused.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

# Re-lock after editing requirements.in or requirements-dev.in (the direct dependencies, by hand).
# pip-compile keeps every pin already in the .txt files unless asked to upgrade
# (`make lock LOCK_ARGS=--upgrade-package=twilio`); pip-tools runs from its own venv so the lock
# tool never enters the locked set.
LOCK_VENV := .venv-lock
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools==7.7.0)
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --allow-unsafe $(LOCK_ARGS) -o requirements-dev.txt requirements-dev.in

# Twilio's OpenAPI description (npm @twilio/cli-core, pinned in tests/openapi/package.json):
# tests/openapi checks every request we send and every stand-in reply against it.
OPENAPI := tests/openapi/node_modules/.package-lock.json
$(OPENAPI): tests/openapi/package.json tests/openapi/package-lock.json
	cd tests/openapi && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(OPENAPI)

openapi: $(OPENAPI)

# dynalite (npm, pinned in ops/dynalite-npm/package.json): the second DynamoDB engine the store
# tests run on beside moto, and the one `python -m ops bench presence --http` serves tables from.
DYNALITE := ops/dynalite-npm/node_modules/.package-lock.json
$(DYNALITE): ops/dynalite-npm/package.json ops/dynalite-npm/package-lock.json
	cd ops/dynalite-npm && npm ci --no-audit --no-fund --loglevel=error
	touch $(DYNALITE)

dynalite: $(DYNALITE)

setup: $(STAMP)

run: setup
	$(PY) -m ops local

lint: setup
	$(PY) -m ruff check .

typecheck: setup
	$(PY) -m mypy chalicelib app.py

test: setup lint typecheck openapi dynalite
	$(PY) -m pytest

bench: setup
	$(PY) -m ops bench incoming-call

# Presence over HTTP at 1000 agents and 200 boards, DynamoDB on dynalite (docs/presence.md).
bench-presence: setup dynalite
	$(PY) -m ops bench presence --http --dynamodb=dynalite

# Re-vendor the Twilio Voice SDK after changing its version in web/package.json (the result,
# web/vendor/twilio.min.js, is committed: `make run` needs no npm; `make test` needs it only for
# tests/openapi).
web-vendor:
	cd web && npm install --package-lock-only --no-audit --no-fund && npm ci --no-audit --no-fund && node scripts/vendor.mjs

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache .mypy_cache tests/openapi/node_modules ops/dynalite-npm/node_modules
