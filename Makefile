# One Makefile for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rapport runs on Python 3.11, 3.12 and 3.13. PYTHON=/path/to/python3.x picks one; by default the
# newest of python3.13, python3.12 and python3.11 that runs here (a pyenv shim of an inactive version
# does not), else python3 when its version is one of those.
SUPPORTED_PYTHONS := 3.11 3.12 3.13
ifeq ($(origin PYTHON),default)
PYTHON :=
endif
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach candidate,python3.13 python3.12 python3.11 python3,\
  $(shell $(candidate) -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 11), (3, 12), (3, 13)])' \
  > /dev/null 2>&1 && echo $(candidate))))
endif
NO_PYTHON := no Python 3.11, 3.12 or 3.13 found (tried python3.13, python3.12, python3.11 and python3): \
  install one (e.g. apt-get install python3) or name it with PYTHON=/path/to/python3.x
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATE ?= 2026-11-23

# Airflow and Rapport keep everything inside the project folder.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export RAPPORT_HOME := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install lock airflow-init airflow demo test bench lint fmt clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'

$(BIN)/python:
	$(if $(PYTHON),,$(error $(NO_PYTHON)))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 11), (3, 12), (3, 13)])' \
	  || { echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'), not 3.11, 3.12 or 3.13"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(BIN)/pip install --quiet --constraint requirements/constraints.txt --editable ".[dev]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install Rapport with the locked dependency set

lock: ## Re-resolve the pinned dependencies into requirements/constraints.txt (needs the registry)
	$(if $(PYTHON),,$(error $(NO_PYTHON)))
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip==26.3
	.lock-venv/bin/pip install --quiet --editable ".[dev]"
	.lock-venv/bin/pip freeze --exclude-editable | sort -f > requirements/constraints.txt
	rm -rf .lock-venv

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	$(BIN)/airflow db migrate > /dev/null
	$(BIN)/rapport pools --output $(AIRFLOW_HOME)/rapport_pools.json
	$(BIN)/airflow pools import $(AIRFLOW_HOME)/rapport_pools.json > /dev/null

airflow-init: $(AIRFLOW_HOME)/airflow.db ## Create the project-local Airflow metadata database and pools

# `make airflow` listens on this address only; RAPPORT_AIRFLOW_HOST=0.0.0.0 opens the UI and API to the network.
RAPPORT_AIRFLOW_HOST ?= 127.0.0.1
RAPPORT_AIRFLOW_PORT ?= 8080
# Where the task processes reach the execution API (served by the API server).
AIRFLOW_LOCAL_HOST := $(if $(filter 0.0.0.0 ::,$(RAPPORT_AIRFLOW_HOST)),127.0.0.1,$(RAPPORT_AIRFLOW_HOST))
AIRFLOW_LISTENERS := AIRFLOW__API__HOST=$(RAPPORT_AIRFLOW_HOST) AIRFLOW__API__PORT=$(RAPPORT_AIRFLOW_PORT) \
  AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST=$(RAPPORT_AIRFLOW_HOST) \
  AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://$(AIRFLOW_LOCAL_HOST):$(RAPPORT_AIRFLOW_PORT)/execution/
# The components of `airflow standalone`, started here because standalone gives no way to keep the
# scheduler's and the triggerer's log servers (Airflow 3.3 binds them to every address, with no host
# option) from starting: --skip-serve-logs does; the API server reads the task logs from .airflow/logs.
AIRFLOW_COMPONENTS := "api-server" "scheduler --skip-serve-logs" "dag-processor" "triggerer --skip-serve-logs"

airflow: airflow-init ## Run Airflow locally (API server and UI on 127.0.0.1:8080, scheduler, triggerer)
	@echo "Airflow UI: http://$(AIRFLOW_LOCAL_HOST):$(RAPPORT_AIRFLOW_PORT) (listening on $(RAPPORT_AIRFLOW_HOST) only;" \
	  "RAPPORT_AIRFLOW_HOST=0.0.0.0 opens it); passwords: $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	export PATH="$(CURDIR)/$(BIN):$$PATH" $(AIRFLOW_LISTENERS); pids=""; \
	for component in $(AIRFLOW_COMPONENTS); do $(BIN)/airflow $$component & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2> /dev/null; wait' INT TERM; \
	wait -n; kill $$pids 2> /dev/null; wait

demo: airflow-init ## Run the nightly DAG on the demo platform over its 26 weeks and print its summary
	@mkdir -p data; start=$$(date +%s); \
	$(BIN)/airflow dags test rapport_nightly $(DEMO_DATE) > data/demo.log 2>&1 \
	  || { tail -n 60 data/demo.log; echo "The demo run failed: full log in data/demo.log"; exit 1; }; \
	echo "Pipeline run took $$(( $$(date +%s) - start )) s (log: data/demo.log)"
	@# The run's summary: the scores, the relationship-health alerts, where the report is.
	@$(BIN)/rapport summary --date $(DEMO_DATE)
	@echo
	@echo "Weekly report (open it in a browser): $(CURDIR)/data/published/report/latest.html"
	@echo
	@echo "Query the scores with SQL (the published copy: data/published/rapport.duckdb; BI tools: docs/bi.md):"
	@echo "  $(BIN)/rapport query \"select * from marts.fct_relationship_scores limit 5\""
	@echo "  $(BIN)/python -c \"import duckdb; print(duckdb.connect('data/published/rapport.duckdb', read_only=True).sql('from marts.fct_relationship_scores'))\""

test: install ## Lint, then run every test (unit, DAG, dbt, end-to-end)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n auto --dist loadfile

BENCH_SIZES ?= 100,1000,10000

bench: install ## Measure cost against scale: 100, 1,000, 10,000 accounts x 52 weeks (BENCH_SIZES=100,1000 to shorten)
	$(BIN)/python -m benchmarks.run --sizes $(BENCH_SIZES)

lint: install ## ruff, mypy and sqlfluff (the pre-commit hooks run the same)
	$(BIN)/pre-commit validate-config
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd sql && ../$(BIN)/sqlfluff lint models tests macros

fmt: install ## Format Python and fix SQL style
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd sql && ../$(BIN)/sqlfluff fix models tests macros

clean: ## Remove the demo data and the local Airflow home (keeps .venv)
	rm -rf data .airflow data/demo.log sql/target sql/logs
