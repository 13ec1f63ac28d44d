# Monitoring (src/{{ cookiecutter.module_name }}/monitoring/): included by the Makefile.
# CURRENT=batch.csv (or .parquet): a batch of production data for the monitor to judge.
.PHONY: monitor drift-demo

# make retrain-check / retrain CURRENT=batch.csv also ask the monitor about the batch.
RETRAIN_ARGS += $(if $(CURRENT),--current "$(CURRENT)")

# make exits 2 on any failure: a scheduler that must tell retrain (1) from an unusable batch (2)
# runs `.venv/bin/python -m {{ cookiecutter.module_name }}.monitoring BATCH` itself.
monitor: | $(BIN)/dvc ## Check a batch against the training data: make monitor CURRENT=batch.csv
	@test -n "$(CURRENT)" || { echo "usage: make monitor CURRENT=path/to/batch.csv (or .parquet)" >&2; exit 2; }
	$(BIN)/python -m {{ cookiecutter.module_name }}.monitoring "$(CURRENT)"

drift-demo: | $(BIN)/dvc ## Build a clean and a drifted batch from the sample data, monitor both
	$(BIN)/python -m {{ cookiecutter.module_name }}.monitoring.demo
