"""MLflow: where runs go, what a training run records, how the model directory is made, and
`python -m <package>.tracking ui|runs` to browse it all.

`import mlflow` alone takes seconds, so only train and evaluate import this module, and only
once their inputs have been checked.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.pipeline import Pipeline

from .config import load_params

PACKAGE_DIR = Path(__file__).resolve().parent
# What serving needs, pinned to the versions that trained the model. Listed explicitly: letting
# MLflow infer them costs seconds (it reloads the model in a subprocess) and picks up whatever
# else is installed (pytest, ruff...).
SERVING_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy")
SQLITE = "sqlite:///"
# The registry alias serving loads: train moves it to a new version at least as good as the one
# it points to (validation score), so a worse model is registered but never served by alias.
CHAMPION = "champion"


def tracking_uri(root: Path | str = ".") -> str:
    """MLFLOW_TRACKING_URI wins, then params.yaml mlflow.tracking_uri, then the embedded store:
    sqlite `mlflow.db` in the project root."""
    configured = load_params(root)["mlflow"]["tracking_uri"]
    embedded = SQLITE + (Path(root).resolve() / "mlflow.db").as_posix()
    return os.environ.get("MLFLOW_TRACKING_URI") or configured or embedded


def connect(root: Path, experiment_name: str) -> str:
    """Point MLflow at the store and return the experiment's id, creating it on first use."""
    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    with _quiet():  # the first use of a sqlite file logs every schema migration
        experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    # Artifacts of a sqlite store go to mlruns/ beside the database, not below whatever
    # directory MLflow happens to run from; a server decides for itself.
    location = None
    if uri.startswith(SQLITE):
        location = (Path(uri.removeprefix(SQLITE)).parent / "mlruns").resolve().as_uri()
    return mlflow.create_experiment(experiment_name, artifact_location=location)


def log_training(
    root: Path,
    settings: dict[str, str],
    *,
    model: Pipeline,
    features: pd.DataFrame,
    params: dict[str, object],
    metrics: dict[str, float],
    tags: dict[str, str],
) -> dict[str, str]:
    """Log a run with the model, register it, tag both with lineage; return their ids."""
    experiment_id = connect(root, settings["experiment_name"])
    example = features.head(5)
    signature = infer_signature(example, model.predict(example))
    with mlflow.start_run(experiment_id=experiment_id) as run, _quiet():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        logged = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=[f"{name}=={version(name)}" for name in SERVING_PACKAGES],
            # Plain pickle refers to our transformers by module path: ship the package along.
            code_paths=[str(PACKAGE_DIR)],
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
            tags=tags,
        )
        registered = mlflow.register_model(
            logged.model_uri, settings["registered_model_name"], tags=tags
        )
        champion = promote(settings["registered_model_name"], str(registered.version), metrics)
    return {
        "run_id": run.info.run_id,
        "experiment_id": experiment_id,
        "model_uri": logged.model_uri,
        "model_id": logged.model_id,
        "registered_model": settings["registered_model_name"],
        "registered_version": str(registered.version),
        "champion": champion,
    }


def promote(name: str, version: str, metrics: dict[str, float]) -> bool:
    """Point the CHAMPION alias at `version` when its validation score is at least as good as
    the current champion's (accuracy: higher is better, rmse: lower); True when it moved."""
    client = mlflow.MlflowClient()
    key = "val_accuracy" if "val_accuracy" in metrics else "val_rmse"
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:  # no champion yet
        current = None
    if current is not None and current.run_id:
        best = client.get_run(current.run_id).data.metrics.get(key)
        if best is not None:
            worse = metrics[key] < best if key == "val_accuracy" else metrics[key] > best
            if worse:
                print(f"{CHAMPION!r} stays on version {current.version} ({key} {best:.4f})")
                return False
    client.set_registered_model_alias(name, CHAMPION, version)
    return True


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


def load_model(model_dir: Path) -> Pipeline:
    with _quiet():
        return mlflow.sklearn.load_model(str(model_dir))


def log_test_metrics(root: Path, run: dict[str, str], metrics: dict[str, float]) -> None:
    """Add the test scores to the training run (and its logged model), when it still exists."""
    mlflow.set_tracking_uri(tracking_uri(root))
    try:
        with _quiet():
            mlflow.log_metrics(metrics, run_id=run["run_id"], model_id=run["model_id"])
    except MlflowException as error:
        # e.g. models/ came from `dvc pull` and that run lives in someone else's store
        print(f"test metrics not logged to MLflow run {run['run_id']}: {error.message}")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide MLflow's harmless chatter: pickle-format notice, environment hints, database
    migrations (older MLflow reconfigures alembic's loggers, so levels alone cannot do it), and
    deprecation warnings its own dependencies raise inside it. Errors still show."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def show_runs(root: Path, limit: int) -> None:
    """Print where the store is, then the latest runs and registered versions."""
    settings = load_params(root)["mlflow"]
    uri = tracking_uri(root)
    print(f"MLflow tracking store: {uri}")
    client = mlflow.MlflowClient(uri)
    with _quiet():
        experiment = client.get_experiment_by_name(settings["experiment_name"])
    if experiment is None:
        print(f"no experiment {settings['experiment_name']!r} yet: run `make repro`")
        return
    print(f"experiment {experiment.name!r}, artifacts in {experiment.artifact_location}")
    runs = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
    )
    for run in runs:
        scores = ", ".join(
            f"{name} {value:.4g}"
            for name, value in sorted(run.data.metrics.items())
            if not name.startswith("val_")
        )
        commit = run.data.tags.get("git_commit", "?")[:8]
        print(f"  run {run.info.run_id} (git {commit}): {scores}")
    name = settings["registered_model_name"]
    versions = client.search_model_versions(f"name = '{name}'", max_results=limit)
    for found in sorted(versions, key=lambda v: int(v.version), reverse=True):
        print(f"  registered model {name!r} version {found.version} from run {found.run_id}")


def main(argv: list[str] | None = None) -> None:
    """`python -m <package>.tracking ui|runs`: browse this project's MLflow tracking store."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    ui = commands.add_parser("ui", help="the MLflow UI: runs, models and registered versions")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", default="5000")
    runs = commands.add_parser("runs", help="print the store's location and the latest runs")
    runs.add_argument("--limit", type=int, default=5)
    args = parser.parse_args(argv)
    if args.command == "runs":
        show_runs(args.root, args.limit)
        return
    uri = tracking_uri(args.root)
    if uri.startswith(("http://", "https://", "databricks")):
        print(f"runs are tracked by the server at {uri}: open it in a browser")
        return
    ui_command = ["mlflow", "ui", "--backend-store-uri", uri]
    # One worker: a UI for one person starts twice as fast as with the default four.
    ui_command += ["--host", args.host, "--port", str(args.port), "--workers", "1"]
    # Replace this process, so Ctrl+C reaches the server directly.
    os.execv(sys.executable, [sys.executable, "-m", *ui_command])


if __name__ == "__main__":
    main()
