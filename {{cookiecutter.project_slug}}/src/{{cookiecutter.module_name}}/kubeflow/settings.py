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
    project_dir: Text  # where the image holds the project (params.yaml, .dvc/, data pointers)
    # How long `make kfp-run --wait` / `make retrain RETRAIN_ON=kfp` follow a submitted run.
    wait_minutes: Annotated[float, Field(gt=0)]


PARAMS_SECTIONS = {"kubeflow": KubeflowSettings}


def kubeflow_settings(params: Params) -> KubeflowSettings:
    return section(params, KubeflowSettings)
