# Two commands on a fresh machine: `make demo` (the whole pipeline on the sandbox) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
BIN := .venv/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup manifest catalog chromium demo test test-spark postgres lint dev clean bench

setup: .venv/.installed

# uv comes from PyPI like everything else; the lock file pins the whole set.
.venv/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check 'uv==0.13.9'
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The dbt manifest the Dagster definitions are built from (dbt parse: no database connection).
manifest: setup
	@mkdir -p "$(DAGSTER_HOME)"
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

# Rewrite what the KPI catalog (dbt_project/kpi_catalog.yml) generates: seed, macro, docs, metrics, METRICS.md.
catalog: setup
	$(BIN)/python -m kpi_catalog

demo: manifest
	$(BIN)/kpi demo

# Headless Chromium screenshots the review report in its test. Debian's package (the browser downloads of
# Playwright/puppeteer are not reachable); installed only when missing. KPI_CHROMIUM names another binary.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@if [ -n "$$KPI_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (Debian) for the review-report test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: install it or set KPI_CHROMIUM to a Chrome/Chromium binary" >&2; exit 1; fi

test: manifest chromium postgres
	$(BIN)/pytest -m "not spark"

# The PostgreSQL server binaries for the shared-warehouse tests (tests/postgres_server.py starts a
# throwaway server from them): installed from Debian when missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing postgresql (Debian) for the shared-warehouse tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

# The scale path: the KPI marts built on Spark (dbt-spark session method, pyspark in local mode, the
# machine's Java 17) from the same lake, compared with the DuckDB build. pyspark is the `spark` group.
test-spark: manifest
	$(UV) sync --frozen --inexact --group spark --python $(PYTHON)
	$(BIN)/pytest -m spark tests/spark

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p tmp/lint && KPI_PII_SALT=lint-only KPI_WAREHOUSE_PATH=$(CURDIR)/tmp/lint/kpi.duckdb $(BIN)/sqlfluff lint dbt_project/models

# Benchmarks (not part of `make test`): the warehouse build at scale and API ingestion against the sandbox's
# rate limits; results in tmp/bench/results.json, quoted in docs/BENCHMARKS.md. BENCH_ARGS="--lines 10000000".
bench: manifest
	$(BIN)/python -m scripts.bench $(BENCH_ARGS)

# Dagster UI on http://127.0.0.1:3000 with the sandbox marketplaces running behind it.
dev: manifest
	$(BIN)/kpi dev

clean:
	rm -rf lake warehouse .dagster dbt_project/target dbt_project/logs
