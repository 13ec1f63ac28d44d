"""The pipeline (prepare -> train -> evaluate, as dvc.yaml) compiled to a KFP v2 definition, and
run here with kfp.local or submitted to a KFP endpoint.

    python -m <package>.kubeflow compile   (make kfp-compile: build/kfp/pipeline.yaml)
    python -m <package>.kubeflow run       (make kfp-run: kubeflow.host, or KFP_HOST)
"""

# No `from __future__ import annotations`: KFP reads the pipeline's parameter types from its
# annotations as objects.
from pathlib import Path

from kfp import dsl

from ..config import SQLITE, Params
from .settings import kubeflow_settings
from .steps import components

PIPELINE_FILE = Path("build/kfp/pipeline.yaml")
LOCAL_ROOT = Path("build/kfp/local")


def configured_tracking(params: Params) -> str:
    """The tracking URI a step on a cluster gets: empty for the embedded store (a file here)."""
    uri = params.mlflow.tracking_uri
    return "" if uri.startswith(SQLITE) else uri


def build(params: Params):
    """The pipeline function, its steps in the configured image; its arguments default to what
    a cluster run uses (kfp-run passes this machine's values)."""
    steps = components(kubeflow_settings(params).image)
    package = __package__.rsplit(".", 1)[0]

    @dsl.pipeline(name=params.mlflow.experiment_name, description="prepare -> train -> evaluate")
    def project_pipeline(
        project: str = kubeflow_settings(params).project_dir,
        package: str = package,
        tracking_uri: str = configured_tracking(params),
    ):
        prepared = steps["prepare"](project=project, package=package)
        trained = steps["train"](
            package=package, tracking_uri=tracking_uri, prepared=prepared.outputs["prepared"]
        )
        steps["evaluate"](
            package=package, tracking_uri=tracking_uri, trained=trained.outputs["trained"]
        )

    return project_pipeline


def compile_pipeline(params: Params, root: Path) -> Path:
    from kfp import compiler

    target = root / PIPELINE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build(params), str(target))
    return target
