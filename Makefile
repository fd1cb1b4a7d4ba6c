# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck bench clean web-vendor

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m ops local

lint: setup
	$(PY) -m ruff check .

typecheck: setup
	$(PY) -m mypy chalicelib app.py

test: setup lint typecheck
	$(PY) -m pytest

bench: setup
	$(PY) -m ops bench incoming-call

# Re-vendor the Twilio Voice SDK after changing its version in web/package.json (the result,
# web/vendor/twilio.min.js, is committed: `make run` and `make test` need no npm).
web-vendor:
	cd web && npm install --package-lock-only --no-audit --no-fund && npm ci --no-audit --no-fund && node scripts/vendor.mjs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
