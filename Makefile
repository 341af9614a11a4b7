# The only entry points: demo, test, lint, bench (each creates .venv and installs first).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-unit test-integration test-embedded lint bench bench-smoke format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The short scenario at 30x for at most 3 minutes of its day, then the KPI summary.
demo: $(STAMP)
	$(VENV)/bin/rxdispatch demo --scenario short --speed 30 --duration 180

test: $(STAMP) lint
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

# Smoke subset on the embedded PostgreSQL and broker (URLs unset).
test-embedded: $(STAMP)
	env -u DATABASE_URL -u MQTT_URL $(PY) -m pytest -m "integration and not slow and not mosquitto" \
		tests/integration/test_infrastructure.py tests/integration/dispatch/stock/test_reservation_race.py \
		tests/integration/telemetry/test_ingest.py tests/integration/api/test_cold_chain_live.py

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
