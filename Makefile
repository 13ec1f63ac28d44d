# Developing the template. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
# Generated projects run `uv` and `cookiecutter` from this environment.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: help demo test test-fast system-deps docs bench bench-drift bench-serve bench-predict

help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

demo: $(VENV)/.installed ## Bake the default project into build/ and run its pipeline end to end
	$(BIN)/python tools/demo.py

test: system-deps $(VENV)/.installed ## Run every template test: fast tier, then the slow tier (minutes)
	$(BIN)/pytest

test-fast: $(VENV)/.installed ## Run the fast tier only (renders, parses, lints: about a minute; needs only git and make)
	$(BIN)/pytest -m "not slow"

system-deps: ## Install the system tools the tests need with apt-get (npm, promtool, buildah...)
	@bash tools/system_deps.sh

docs: $(VENV)/.installed ## Build the docs site into build/site (mkdocs --strict; options page from cookiecutter.json)
	$(BIN)/python tools/docs_site.py

bench: $(VENV)/.installed ## Bake and pipeline benchmarks (figures printed, saved in build/benchmarks)
	$(BIN)/python benchmarks/bake_speed.py
	$(BIN)/python benchmarks/pipeline_speed.py --task classification
	$(BIN)/python benchmarks/pipeline_speed.py --task regression

# PROJECT: a baked project after `make setup` (e.g. build/my-ml-project from `make demo`);
# EVIDENTLY_PYTHON: a venv with "evidently==0.7.*" "pandas<3" (see benchmarks/drift_benchmark.py).
PROJECT ?= build/my-ml-project
EVIDENTLY_PYTHON ?= /tmp/evenv/bin/python
bench-drift: $(VENV)/.installed ## Drift detection vs Evidently, same run (PROJECT=, EVIDENTLY_PYTHON=)
	$(BIN)/python benchmarks/drift_benchmark.py --project $(PROJECT) \
		--python $(PROJECT)/.venv/bin/python --evidently-python $(EVIDENTLY_PYTHON)

# MLSERVER_PYTHON: a venv with mlserver + mlserver-mlflow (see benchmarks/serving_benchmark.py);
# BASELINE_REV: an earlier template revision whose API is measured in the same run.
MLSERVER_PYTHON ?=
BASELINE_REV ?=
bench-serve: $(VENV)/.installed ## Prediction API vs MLServer, mlflow serve (and BASELINE_REV) with wrk
	$(BIN)/python benchmarks/serving_benchmark.py $(if $(MLSERVER_PYTHON),--mlserver-python $(MLSERVER_PYTHON)) \
		$(if $(BASELINE_REV),--baseline-rev $(BASELINE_REV))

bench-predict: $(VENV)/.installed ## make predict on 1M rows vs pipeline.predict and mlflow models predict; memory 100k-5M (PROJECT=)
	$(BIN)/python benchmarks/predict_benchmark.py --project $(PROJECT)
