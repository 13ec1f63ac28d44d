"""The `kubeflow:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field

from ..config import Params, Section, Text, section


class KubeflowSettings(Section):
    ENV: ClassVar[dict[str, str]] = {"host": "KFP_HOST", "image": "KFP_IMAGE"}
    # Empty: `make kfp-run` runs the pipeline here (kfp.local); else the KFP API endpoint.
    host: Annotated[str, BeforeValidator(lambda value: value or "")]
    image: Text  # every step runs in it: the project installed with its dependencies
    experiment: Text  # the KFP experiment runs are filed under
    # Defaults (set any under `kubeflow:` in params.yaml to change it):
    # where the image holds the project (params.yaml, .dvc/, data pointers)
    project_dir: Text = "/app"
    # How long `make kfp-run WAIT=1` / `make retrain RETRAIN_ON=kfp` follow a submitted run.
    wait_minutes: Annotated[float, Field(gt=0)] = 60


PARAMS_SECTIONS = {"kubeflow": KubeflowSettings}


def kubeflow_settings(params: Params) -> KubeflowSettings:
    return section(params, KubeflowSettings)
