"""What a training run records in MLflow: parameters, metrics, the model with its signature,
the registered version with lineage tags, and the alias that serving loads."""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib.metadata import distributions, packages_distributions, version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.pipeline import Pipeline

from ..config import MlflowSection
from ..modeling.estimators import family_of
from ..modeling.metrics import is_better
from ..paths import MODEL_DIR, UNLOGGED_RUN_FILE, write_json
from .mlflow_store import connect, quiet

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# What serving needs, pinned to the versions that trained the model. Listed explicitly: letting
# MLflow infer them costs seconds (it reloads the model in a subprocess) and picks up whatever
# else is installed (pytest, ruff...). pydantic-settings: the package's config.py, which the
# model's code imports (mlflow brings pydantic and pyyaml).
SERVING_PACKAGES = (
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "onnxruntime",
    "shap",
    "pydantic-settings",
)


# What may fail while logging to a store that went away mid-run (requests' errors are OSErrors).
LOGGING_ERRORS = (MlflowException, OSError)


def requirements(model: Pipeline) -> list[str]:
    """SERVING_PACKAGES and the libraries of the model's family (lightgbm...), pinned."""
    family = family_of(model.steps[-1][1])
    names = list(SERVING_PACKAGES)
    for module in family.libraries if family else ():
        names += [name for name in distributions_of(module) if name not in names]
    return [f"{name}=={version(name)}" for name in names]


def distributions_of(module: str) -> list[str]:
    """The installed distributions providing `module` (the xgboost module comes from
    xgboost-cpu on Linux). Python 3.10 maps modules by top_level.txt only, which some wheels
    lack: their file lists are read then."""
    found = packages_distributions().get(module)
    if found:
        return list(found)
    prefix = f"{module}/"
    return [
        dist.metadata["Name"]
        for dist in distributions()
        if any(str(path).startswith(prefix) for path in dist.files or ())
    ] or [module]


def model_format(model: Pipeline, features: pd.DataFrame) -> dict[str, object]:
    """How the model is written, logged or saved alike: signature, example, requirements."""
    example = features.head(5)
    return {
        "signature": infer_signature(example, model.predict(example)),
        "input_example": example,
        "pip_requirements": requirements(model),
        # Plain pickle refers to our transformers by module path: ship the package along.
        "code_paths": [str(PACKAGE_DIR)],
        "serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
    }


def log_training(
    settings: MlflowSection,
    *,
    model: Pipeline,
    features: pd.DataFrame,
    extras: dict[str, bytes],
    params: dict[str, object],
    metrics: dict[str, float],
    tags: dict[str, str],
    primary_metric: str,
    register: bool = True,
) -> dict[str, Any]:
    """Log a run with the model (and `extras`, files added to its directory), register it
    unless `register` is false (an experiment: the one kept is registered later), tag both
    with lineage; return their ids."""
    experiment_id = connect(settings)
    with mlflow.start_run(experiment_id=experiment_id) as run, quiet():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        logged = mlflow.sklearn.log_model(
            model, name="model", tags=tags, **model_format(model, features)
        )
        with tempfile.TemporaryDirectory() as scratch:
            write_extras(Path(scratch), extras)
            mlflow.MlflowClient().log_model_artifacts(logged.model_id, scratch)
        version, promoted = None, False
        if register:
            version, promoted = register_version(
                settings, logged.model_uri, tags, primary_metric, metrics
            )
    return {
        "run_id": run.info.run_id,
        "experiment_id": experiment_id,
        "model_uri": logged.model_uri,
        "model_id": logged.model_id,
        "registered_model": settings.registered_model_name,
        "registered_version": version,
        "promoted": promoted,
        "primary_metric": primary_metric,
        "tags": tags,  # lineage, for the model card
    }


def register_version(
    settings: MlflowSection,
    model_uri: str,
    tags: dict[str, str],
    primary_metric: str,
    metrics: dict[str, float],
) -> tuple[str, bool]:
    """Register the logged model as a new version (tagged with lineage) and move the alias to
    it when it is at least as good; (version, moved)."""
    with quiet():
        registered = mlflow.register_model(model_uri, settings.registered_model_name, tags=tags)
    version = str(registered.version)
    if settings.register_as == "challenger":
        return version, make_challenger(settings, version, primary_metric, metrics)
    return version, promote(settings, version, primary_metric, metrics)


def make_challenger(
    settings: MlflowSection, version: str, metric: str, metrics: dict[str, float]
) -> bool:
    """Point mlflow.challenger_alias at `version` when it beats the dummy baseline: the API
    scores it beside the champion (serving.challenger) until `make promote` decides."""
    alias = settings.challenger_alias
    if not beats_baseline(metric, metrics):
        print(
            f"{alias!r} not moved to version {version}: its {metric} {metrics[metric]:.4f} does "
            f"not beat the baseline's {metrics[baseline_metric(metric)]:.4f}"
        )
        return False
    mlflow.MlflowClient().set_registered_model_alias(settings.registered_model_name, alias, version)
    return True


def write_extras(directory: Path, extras: dict[str, bytes]) -> None:
    for name, content in extras.items():
        (directory / name).write_bytes(content)


def keep_unlogged(
    root: Path, model: Pipeline, features: pd.DataFrame, extras: dict[str, bytes], run: dict
) -> None:
    """The store failed after the fit: save the model to models/model (no store needed) and the
    run it should have been (params, metrics, tags) beside it, for `tracking log-kept`."""
    destination = root / MODEL_DIR
    shutil.rmtree(destination, ignore_errors=True)
    with quiet():
        mlflow.sklearn.save_model(model, str(destination), **model_format(model, features))
    write_extras(destination, extras)
    write_json(root / UNLOGGED_RUN_FILE, run)


def promote(settings: MlflowSection, version: str, metric: str, metrics: dict[str, float]) -> bool:
    """Point mlflow.model_alias at `version` unless it does not beat the dummy baseline on its
    validation view, or the version the alias points to now has a better validation score on
    `metric`, measured on the same data; True when it moved."""
    name, alias = settings.registered_model_name, settings.model_alias
    if not beats_baseline(metric, metrics):
        baseline = metrics[baseline_metric(metric)]
        print(
            f"{alias!r} not moved to version {version}: its {metric} {metrics[metric]:.4f} does "
            f"not beat the baseline's {baseline:.4f}; `make promote VERSION={version}` moves it "
            "all the same"
        )
        return False
    client = mlflow.MlflowClient()
    try:
        current = client.get_model_version_by_alias(name, alias)
    except MlflowException:  # no version has the alias yet
        current = None
    if current is not None and current.run_id:
        champion = client.get_run(current.run_id)
        challenger = client.get_run(client.get_model_version(name, version).run_id)
        best = champion.data.metrics.get(metric)
        if validated_on(champion) != validated_on(challenger):
            # New raw data (retraining, or a team's own CSV after the sample): the old score
            # says nothing about the new model, so the newest data wins.
            print(f"{alias!r} moves from version {current.version}: it was validated on other data")
        elif best is not None and is_better(metric, best, metrics[metric]):
            print(f"{alias!r} stays on version {current.version} ({metric} {best:.4f})")
            return False
    client.set_registered_model_alias(name, alias, version)
    return True


def baseline_metric(metric: str) -> str:
    """The dummy baseline's score of the same metric (train logs both: val_X, val_baseline_X)."""
    return "val_baseline_" + metric.removeprefix("val_")


def beats_baseline(metric: str, metrics: dict[str, float]) -> bool:
    """True when the model's score beats the baseline's (or no baseline score was logged)."""
    baseline = metrics.get(baseline_metric(metric))
    return baseline is None or is_better(metric, metrics[metric], baseline)


def set_alias(settings: MlflowSection, version: str) -> None:
    """Point mlflow.model_alias at `version` whatever its scores (`make promote VERSION=`)."""
    name, alias = settings.registered_model_name, settings.model_alias
    client = mlflow.MlflowClient()
    try:
        client.get_model_version(name, version)
    except MlflowException as error:
        problem = (error.message.splitlines() or [""])[0]
        raise SystemExit(
            f"registered model {name!r} has no version {version!r} ({problem}): "
            "`make runs` lists the registered versions"
        ) from None
    client.set_registered_model_alias(name, alias, version)


def validated_on(run: Any) -> tuple[object, ...]:
    """What a run's validation score was measured on: the raw data's md5, target and split."""
    split = sorted(
        (key, value) for key, value in run.data.params.items() if key.startswith("split.")
    )
    return run.data.tags.get("data_md5"), run.data.params.get("data.target"), tuple(split)


def copy_model(model_uri: str, destination: Path) -> None:
    """Copy the logged model directory to `destination` (the DVC output): serialised once."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per file copy
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        downloaded = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=scratch)
        shutil.rmtree(destination, ignore_errors=True)
        shutil.move(downloaded, destination)
    # The download may be the temporary folder itself, which is private (0700): give it the
    # mode a new folder gets, so other users (the API's image, a shared host) can read it.
    umask = os.umask(0)
    os.umask(umask)
    destination.chmod(0o777 & ~umask)


def log_evaluation(
    settings: MlflowSection,
    run: dict[str, str],
    metrics: dict[str, float],
    files: dict[str, Path],
    description: str,
) -> None:
    """Add evaluate's results to the training run (test scores, also on its logged model; the
    importance and the model card as artifacts under evaluation/, by the names of `files`), and
    the card as the registered version's description, when the run still exists."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = mlflow.MlflowClient()
    try:
        with quiet():
            mlflow.log_metrics(metrics, run_id=run["run_id"], model_id=run["model_id"])
            with tempfile.TemporaryDirectory() as scratch:
                for name, path in files.items():
                    shutil.copy(path, Path(scratch) / name)
                client.log_artifacts(run["run_id"], scratch, artifact_path="evaluation")
            if run.get("registered_version"):
                client.update_model_version(
                    run["registered_model"], run["registered_version"], description=description
                )
    except MlflowException as error:
        # e.g. models/ came from `dvc pull` and that run lives in someone else's store
        print(f"evaluation not logged to MLflow run {run['run_id']}: {error.message}")
