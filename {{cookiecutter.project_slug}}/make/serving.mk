# Serving (src/{{ cookiecutter.module_name }}/serving/): included by the Makefile.
.PHONY: serve

# make serve: 127.0.0.1:8000 unless PORT= / HOST= are given (PORT's 5000 default is the UI's).
SERVE_PORT := $(if $(filter command line environment,$(origin PORT)),$(PORT),8000)
serve: | $(BIN)/dvc ## Serve the model of `make repro` (API on HOST:PORT, default 127.0.0.1:8000)
	$(BIN)/python -m {{ cookiecutter.module_name }}.serving --host $(HOST) --port $(SERVE_PORT)

# make promote without VERSION (the Makefile): the challenger against the champion, on live
# traffic (the API at API_URL) and labelled data (LABELLED=file.csv, default the test split).
PROMOTE_CHALLENGER = $(BIN)/python -m {{ cookiecutter.module_name }}.serving.promotion \
	$(if $(LABELLED),--labelled "$(LABELLED)") $(if $(MIN_RECORDS),--min-records $(MIN_RECORDS))
