# Two set-up commands: `make run` (fresh machine → demo hub) and `make test`. Everything installs from
# requirements.lock (exact versions and hashes), so every machine runs the same code.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run install browser test lint format bench lock translations clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The hub's public address follows HOST/PORT unless REFERRAL_HUB_BASE_URL says otherwise (printed login links).
run: install
	$(BIN)/referral-hub db upgrade
	REFERRAL_HUB_BASE_URL="$${REFERRAL_HUB_BASE_URL:-http://$(HOST):$(PORT)}" $(BIN)/referral-hub demo
	REFERRAL_HUB_BASE_URL="$${REFERRAL_HUB_BASE_URL:-http://$(HOST):$(PORT)}" $(BIN)/referral-hub serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium through Playwright (never a downloaded browser). Installing it needs
# root (CI and these machines); elsewhere the browser tests skip, saying why.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "Chromium not installed: browser tests will skip (run as root or apt-get install chromium)"; }

test: install browser
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m tests.bench.run_all

# Extract marked strings, update the en/es catalogs and compile them (commit the .po files, not the .mo).
translations: install
	$(BIN)/python -m referral_hub.i18n_tools all

# Re-resolve dependencies after editing pyproject.toml; commit the new lock file.
lock:
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)")
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes --extra dev -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
