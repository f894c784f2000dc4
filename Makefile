# Two commands: `make run` (the whole product on embedded defaults, with demo data)
# and `make test` (every suite: SQLite + in-process Redis, PostgreSQL + Redis, jest, browser).

# The interpreter the venv is made from: the fastest CPython 3.11 build on PATH (see
# deploy/pick-python for why; a PGO+LTO build cost the API ~10 % less CPU per intake).
# Worked out once, and only when a recipe uses it (making the venv).
PYTHON ?= $(eval PYTHON := $$(shell sh deploy/pick-python))$(PYTHON)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
NODE_STAMP := miniprogram/node_modules/.installed-$(shell cksum miniprogram/package-lock.json | cut -d' ' -f1)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install system-deps test-embedded test-pg test-jest test-browser openapi bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || { echo "making $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/python -m server migrate
	$(BIN)/python -m server seed
	$(BIN)/python -m server serve

# Debian packages the tests need: headless Chromium, CJK fonts for screenshots, wrk for benchmarks.
system-deps:
	@if ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1 || ! command -v wrk >/dev/null; then \
		echo "installing chromium, fonts-noto-cjk, wrk"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk wrk >/dev/null; \
	fi

$(NODE_STAMP): miniprogram/package-lock.json
	cd miniprogram && npm ci --no-audit --no-fund --loglevel=error
	rm -f miniprogram/node_modules/.installed-* && touch $@

openapi: install
	$(BIN)/python -m server openapi --out build/openapi.json

test-embedded: install
	TEST_BACKEND=embedded $(BIN)/python -m pytest -q -m "not browser" tests

test-pg: install
	TEST_BACKEND=pg $(BIN)/python -m pytest -q -m "not browser" tests

test-jest: openapi $(NODE_STAMP)
	cd miniprogram && OPENAPI_JSON=../build/openapi.json npx jest --ci

test-browser: install system-deps
	$(BIN)/python -m pytest -q -m browser tests/browser

# The two pytest tiers share no state (SQLite and the in-process Redis; a throw-away
# PostgreSQL database and per-test Redis prefixes), so they run side by side on the two
# cores: -O prints each tier's output whole when it ends.
test: install system-deps $(NODE_STAMP)
	$(MAKE) --no-print-directory -j2 -O test-embedded test-pg
	$(MAKE) --no-print-directory test-jest
	$(MAKE) --no-print-directory test-browser

bench: install system-deps
	$(BIN)/python -m bench api

clean:
	rm -rf var build tests/artifacts
