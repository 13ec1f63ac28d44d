# Scale-out (src/{{ cookiecutter.module_name }}/engine/, deploy/kserve/): included by the Makefile.
.PHONY: kserve-model kfp-image kfp-compile kfp-run

# make retrain RETRAIN_ON=kfp: the retraining runs as the Kubeflow pipeline (see docs/scale-out.md).
RETRAIN_RUN_ARGS += $(if $(RETRAIN_ON),--on "$(RETRAIN_ON)")

ALIAS ?= champion
CANARY ?=
KSERVE_DIR := deploy/kserve/$(if $(CANARY),canary,base)

kserve-model: | $(BIN)/dvc ## Point deploy/kserve at the registry's ALIAS version (champion; CANARY=1: the canary)
	@uri=$$($(BIN)/python -m {{ cookiecutter.module_name }}.tracking model-uri --alias $(ALIAS)) \
		&& printf 'STORAGE_URI=%s\n' "$$uri" > $(KSERVE_DIR)/model.env \
		&& echo "$(KSERVE_DIR)/model.env: $$uri (kubectl apply -k $(KSERVE_DIR))"

# make kfp-image: kubeflow.image, built from the committed tree (uncommitted changes stay out;
# the serving image's .dockerignore does not apply: the Dockerfile copies what the steps need).
# It installs the versions this project's environment was set up with, never newer ones: uv.lock's
# (uv), or what .venv holds (pip). They go into the build context as requirements.txt.
CONTAINER ?= docker
KFP_BUILD_ARGS ?=
ifeq ($(ENV_MANAGER),uv)
KFP_PINS = uv export --locked --no-emit-project --no-hashes --no-header --no-annotate --quiet
else
KFP_PINS = $(BIN)/python -m pip freeze --exclude-editable
endif
kfp-image: | $(BIN)/dvc ## Build the image the pipeline's steps run in (kubeflow.image; CONTAINER=docker, podman or buildah)
	@image=$$($(BIN)/python -c 'from {{ cookiecutter.module_name }}.config import load_params; print(load_params().kubeflow.image)') \
		&& rm -rf build/kfp/context && mkdir -p build/kfp/context \
		&& git archive HEAD | tar -x -C build/kfp/context \
		&& rm -f build/kfp/context/.dockerignore \
		&& $(KFP_PINS) > build/kfp/context/requirements.txt \
		&& $(CONTAINER) build $(KFP_BUILD_ARGS) --build-arg GIT_COMMIT=$$(git rev-parse HEAD) \
			-f deploy/kubeflow/Dockerfile -t "$$image" build/kfp/context \
		&& echo "built $$image (push it where the cluster pulls from, then make kfp-run)"

kfp-compile: | $(BIN)/dvc ## Compile the pipeline for Kubeflow Pipelines (build/kfp/pipeline.yaml)
	$(BIN)/python -m {{ cookiecutter.module_name }}.kubeflow compile

kfp-run: | $(BIN)/dvc ## Run the pipeline with kfp.local, or on Kubeflow Pipelines when KFP_HOST is set (WAIT=1: till it ends)
	@$(BIN)/python -m {{ cookiecutter.module_name }}.pipeline.preflight
	$(BIN)/python -m {{ cookiecutter.module_name }}.kubeflow run $(if $(WAIT),--wait)
