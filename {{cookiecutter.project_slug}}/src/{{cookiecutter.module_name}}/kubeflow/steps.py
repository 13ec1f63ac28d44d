"""The pipeline's steps as KFP lightweight components: each runs the project's own stage
(pipeline/prepare.py, train.py, evaluate.py) in a scratch root built from its inputs, so the
code is the code `make repro` runs.

KFP ships a component's source to the step's container, not this module: each function is
self-contained (its imports inside) and names the package it runs by the `package` argument.
"""

# No `from __future__ import annotations`: KFP reads the parameter types (Output[Artifact]...)
# from the functions' annotations as objects.
from kfp import dsl
from kfp.dsl import Artifact, Input, Metrics, Model, Output


def prepare(project: str, package: str, prepared: Output[Artifact]) -> None:
    """The raw data (`dvc pull` from the project's remote when it is not there), then prepare."""
    import importlib
    import shutil
    from pathlib import Path

    source, root = Path(project), Path(prepared.path)
    params = importlib.import_module(f"{package}.config").load_params(source)
    raw = Path(params.data.raw_path)
    if not (source / raw).is_file():
        from dvc.repo import Repo

        # The image holds no .git (the commit is in GIT_COMMIT): DVC without git.
        Repo(str(source), config={"core": {"no_scm": True}}).pull(targets=[str(raw)])
    (root / raw.parent).mkdir(parents=True)
    shutil.copy(source / "params.yaml", root / "params.yaml")
    shutil.copy(source / raw, root / raw)
    pointer = source / raw.with_name(raw.name + ".dvc")
    if pointer.is_file():  # the data's DVC hash becomes a lineage tag of the run
        shutil.copy(pointer, root / pointer.relative_to(source))
    importlib.import_module(f"{package}.pipeline.prepare").run(root)


def train(
    package: str, tracking_uri: str, prepared: Input[Artifact], trained: Output[Model]
) -> None:
    """Fit, log to MLflow and register, as the train stage does."""
    import importlib
    import os
    import shutil

    shutil.copytree(prepared.path, trained.path)
    if tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    importlib.import_module(f"{package}.pipeline.train").run(trained.path)


def evaluate(
    package: str,
    tracking_uri: str,
    trained: Input[Model],
    evaluated: Output[Artifact],
    metrics: Output[Metrics],
) -> None:
    """Score the test split (reports/, added to the MLflow run); the scores as KFP metrics."""
    import importlib
    import os
    import shutil

    shutil.copytree(trained.path, evaluated.path)
    if tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    scores = importlib.import_module(f"{package}.pipeline.evaluate").run(evaluated.path)
    for name, value in scores.items():
        if isinstance(value, (int, float)):
            metrics.log_metric(name, value)


def components(image: str) -> dict[str, object]:
    """The three steps as KFP components running in `image`, which has the project and kfp
    installed (no pip install at run time: the steps run offline too)."""
    return {
        step.__name__: dsl.component(base_image=image, install_kfp_package=False)(step)
        for step in (prepare, train, evaluate)
    }
