# Scale-out (src/{{ cookiecutter.module_name }}/engine/, deploy/kserve/): included by the Makefile.
.PHONY: kserve-model kfp-compile kfp-run

ALIAS ?= champion
CANARY ?=
KSERVE_DIR := deploy/kserve/$(if $(CANARY),canary,base)

kserve-model: | $(BIN)/dvc ## Point deploy/kserve at the registry's ALIAS version (champion; CANARY=1: the canary)
	@uri=$$($(BIN)/python -m {{ cookiecutter.module_name }}.tracking model-uri --alias $(ALIAS)) \
		&& printf 'STORAGE_URI=%s\n' "$$uri" > $(KSERVE_DIR)/model.env \
		&& echo "$(KSERVE_DIR)/model.env: $$uri (kubectl apply -k $(KSERVE_DIR))"

kfp-compile: | $(BIN)/dvc ## Compile the pipeline for Kubeflow Pipelines (build/kfp/pipeline.yaml)
	$(BIN)/python -m {{ cookiecutter.module_name }}.kubeflow compile

kfp-run: | $(BIN)/dvc ## Run the pipeline with kfp.local, or on Kubeflow Pipelines when KFP_HOST is set
	@$(BIN)/python -m {{ cookiecutter.module_name }}.pipeline.preflight
	$(BIN)/python -m {{ cookiecutter.module_name }}.kubeflow run
