# alphaforge: the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

SYMBOLS ?= EURUSD
START ?= 2019-02-04
END ?= 2019-02-05
SOURCE ?= dukascopy
BENCH ?=
# two pytest-xdist workers: most slow tests wait on servers and subprocesses, not on a core
TEST_WORKERS ?= 2
DEV_PORT ?= 3000
MLFLOW_PORT ?= 5000
SERVE_PORT ?= 8000
export ALPHAFORGE_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(ALPHAFORGE_DATA_DIR)/dagster_home
export MLFLOW_TRACKING_URI ?= sqlite:///$(ALPHAFORGE_DATA_DIR)/mlflow.db

.PHONY: setup setup-dev demo test bench lint dev mlflow serve dbt-parse dbt-build compose-config clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the pinned CPU wheel, before anything can pull a CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP) ## create .venv and install the pinned set

setup-dev: $(DEV_STAMP) ## plus the dev extras

demo: $(STAMP) dbt-parse ## the main job on the embedded defaults (SYMBOLS=, START=, END=, SOURCE=synthetic)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m cli.demo --symbols $(SYMBOLS) --start $(START) --end $(END) --source $(SOURCE)

test: $(DEV_STAMP) dbt-parse ## the whole suite
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: $(DEV_STAMP) ## every benchmark, or one: make bench BENCH=name
	@for f in benchmarks/bench_$(if $(BENCH),$(BENCH),*).py; do $(BIN)/python $$f || exit 1; done

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

dbt-parse: $(STAMP) ## dbt's manifest, which dagster-dbt reads at import time
	cd dbt && ../$(BIN)/dbt parse --profiles-dir . --quiet

dbt-build: dbt-parse ## the analytics models and their tests over the lake (DuckDB)
	cd dbt && ../$(BIN)/dbt build --profiles-dir . --quiet

compose-config: ## validate docker-compose.yml without an engine (needs .env: cp .env.example .env)
	docker-compose config -q

# dagster-dbt runs `dbt` from PATH when it prepares the project under dagster dev: .venv/bin goes first
dev: $(STAMP) dbt-parse ## Dagster UI on http://127.0.0.1:3000 (DEV_PORT=)
	mkdir -p $(DAGSTER_HOME)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -h 127.0.0.1 -p $(DEV_PORT) -w workspace.yaml

mlflow: $(STAMP) ## MLflow UI on http://127.0.0.1:5000 (MLFLOW_PORT=)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow server --backend-store-uri $(MLFLOW_TRACKING_URI) \
		--host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

serve: $(STAMP) ## realtime API on http://127.0.0.1:8000 (SERVE_PORT=; needs REALTIME_API_KEY)
	@test -n "$$REALTIME_API_KEY" || { echo "set REALTIME_API_KEY (12+ characters) first"; exit 2; }
	REALTIME_MLFLOW_TRACKING_URI=$${REALTIME_MLFLOW_TRACKING_URI:-$(MLFLOW_TRACKING_URI)} \
	REALTIME_DATA_DIR=$${REALTIME_DATA_DIR:-$(ALPHAFORGE_DATA_DIR)} \
	$(BIN)/python -m realtime.serving --host 127.0.0.1 --port $(SERVE_PORT)

clean:
	rm -rf data dbt/target
