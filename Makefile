# Two entry points: `make demo` (the reference service checked by the full suite) and
# `make test` (the project's own tests, lint and type checks). Each installs what it needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORT_DIR ?= reports
secret = $$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(24))')

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[reference,dev]'
	touch $(STAMP)

# The demo's credentials are fresh random values for each run: the launched service and
# the suite read the same variables, and the reports must never show them.
demo: $(STAMP)
	BASIC_AUTH_USER=demo \
	BASIC_AUTH_PASSWORD=$(secret) \
	API_KEYS=$(secret) \
	JWT_SECRET=$(secret) \
	OAUTH_CLIENT_ID=demo-client \
	OAUTH_CLIENT_SECRET=$(secret) \
	OAUTH_USER_PASSWORD=$(secret) \
	PATH="$(CURDIR)/$(BIN):$$PATH" \
	$(BIN)/pytest -p no:cacheprovider \
		--profile reference_service/conformance.toml \
		--report-dir $(REPORT_DIR)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests

# The benchmarks in bench/ (README there); the overhead one needs Debian's wrk.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[reference,dev,bench]'
	$(BIN)/python bench/telemetry_overhead.py
	$(BIN)/python bench/suite_wall_time.py
	$(BIN)/python bench/receiver_ingest.py

clean:
	rm -rf $(VENV) $(REPORT_DIR)/*.html $(REPORT_DIR)/*.json
