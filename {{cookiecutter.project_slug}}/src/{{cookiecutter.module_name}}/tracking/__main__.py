"""`python -m <package>.tracking runs|ui|log-kept|register|promote|model-uri`: browse
this project's MLflow tracking store, log the run train kept when the store failed after the fit,
register the model of an experiment you kept (`dvc exp apply`), move the alias to a version that
was not promoted, or print where a registered version's files are (what a model server such as
KServe loads)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..config import MlflowSection, load_params
from ..paths import MODEL_DIR, MODEL_EXTRAS, RUN_FILE, UNLOGGED_RUN_FILE, write_json
from .server import check_tracking_server


def show_runs(settings: MlflowSection, limit: int) -> None:
    """Print where the store is, then the latest runs and registered versions."""
    from mlflow import MlflowClient

    from .mlflow_store import quiet

    uri = settings.tracking_uri
    print(f"MLflow tracking store: {uri}")
    check_tracking_server(uri)
    client = MlflowClient(uri)
    with quiet():
        experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is None:
        print(f"no experiment {settings.experiment_name!r} yet: run `make repro`")
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
    name = settings.registered_model_name
    versions = client.search_model_versions(f"name = '{name}'", max_results=limit)
    # version -> its aliases (search results leave them out)
    aliases: dict[str, list[str]] = {}
    if versions:
        for alias, version in client.get_registered_model(name).aliases.items():
            aliases.setdefault(str(version), []).append(alias)
    for found in sorted(versions, key=lambda v: int(v.version), reverse=True):
        named = ", ".join(aliases.get(str(found.version), []))
        named = f" [{named}]" if named else ""
        print(f"  registered model {name!r} version {found.version}{named} from run {found.run_id}")


def open_ui(settings: MlflowSection, host: str, port: str) -> None:
    uri = settings.tracking_uri
    if uri.startswith(("http://", "https://", "databricks")):
        print(f"runs are tracked by the server at {uri}: open it in a browser")
        return
    # One worker: a UI for one person starts twice as fast as with the default four.
    command = ["mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    # Replace this process, so Ctrl+C reaches the server directly.
    os.execv(sys.executable, [sys.executable, "-m", *command])


def log_kept(root: Path, settings: MlflowSection) -> dict[str, str]:
    """Log and register the run train kept in models/ when the store failed after the fit."""
    kept = root / UNLOGGED_RUN_FILE
    if not kept.is_file():
        raise SystemExit(f"{UNLOGGED_RUN_FILE} not found: no kept run to log")
    check_tracking_server(settings.tracking_uri)
    import pandas as pd

    from ..modeling.model import load_pipeline
    from .training_run import log_training

    record = json.loads(kept.read_text(encoding="utf-8"))
    example = json.loads((root / MODEL_DIR / "input_example.json").read_text(encoding="utf-8"))
    features = pd.DataFrame(example["data"], columns=example["columns"])
    model = load_pipeline(root / MODEL_DIR)
    extras = {
        name: (root / MODEL_DIR / name).read_bytes()
        for name in MODEL_EXTRAS
        if (root / MODEL_DIR / name).is_file()
    }
    logged = log_training(settings, model=model, features=features, extras=extras, **record)
    write_json(root / RUN_FILE, logged)
    kept.unlink()
    print(
        f"logged run {logged['run_id']}, registered {logged['registered_model']} version "
        f"{logged['registered_version']}; `dvc commit -f train` records it, then `make repro` "
        "runs evaluate"
    )
    return logged


def register(root: Path, settings: MlflowSection) -> dict:
    """Register the model in models/ (an applied experiment's: experiments are not registered)
    and move the alias to it when it is at least as good."""
    run_file = root / RUN_FILE
    if not run_file.is_file():
        raise SystemExit(f"{RUN_FILE} not found: run `make repro` (or `dvc exp apply`) first")
    logged = json.loads(run_file.read_text(encoding="utf-8"))
    if logged.get("registered_version"):
        print(
            f"{logged['registered_model']} version {logged['registered_version']} is the model "
            "in models/ already: nothing to register"
        )
        return logged
    check_tracking_server(settings.tracking_uri)
    import mlflow

    from .training_run import register_version

    mlflow.set_tracking_uri(settings.tracking_uri)
    run = mlflow.MlflowClient().get_run(logged["run_id"])
    metric = logged.get("primary_metric") or next(
        name for name in run.data.metrics if name.startswith("val_")
    )
    version, promoted = register_version(
        settings, logged["model_uri"], logged.get("tags", {}), metric, run.data.metrics
    )
    logged.update(
        registered_model=settings.registered_model_name,
        registered_version=version,
        promoted=promoted,
    )
    write_json(run_file, logged)
    alias = f", alias {settings.registered_alias!r} moved to it" if promoted else ""
    print(f"registered {settings.registered_model_name} version {version}{alias}")
    return logged


def promote(settings: MlflowSection, version: str) -> None:
    """Move the alias to `version`, whether or not it beats the baseline or the champion."""
    check_tracking_server(settings.tracking_uri)
    import mlflow

    from .training_run import set_alias

    mlflow.set_tracking_uri(settings.tracking_uri)
    set_alias(settings, version)
    print(
        f"alias {settings.model_alias!r} of {settings.registered_model_name} moved to version "
        f"{version}: the API serves it from its next start (predict.model_source: registry)"
    )


# Artifact stores a model server in a cluster can read the model from.
REMOTE_SCHEMES = ("s3://", "gs://", "wasbs://", "abfss://", "https://", "http://")


def model_uri(settings: MlflowSection, alias: str) -> str:
    """The storage URI of the files of the version `alias` points to (s3://... with a tracking
    server whose artifacts are on S3). A local path, which no cluster can read, is refused."""
    check_tracking_server(settings.tracking_uri)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from .mlflow_store import quiet

    client = MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    try:
        with quiet():
            version = client.get_model_version_by_alias(name, alias)
            uri = client.get_model_version_download_uri(name, version.version)
    except MlflowException as error:
        raise SystemExit(
            f"registered model {name!r} has no alias {alias!r} at {settings.tracking_uri}: "
            f"{error.message.splitlines()[0]}"
        ) from None
    if not uri.startswith(REMOTE_SCHEMES):
        raise SystemExit(
            f"version {version.version} of {name!r} is stored at {uri}, which a cluster cannot "
            "read: track to an MLflow server whose artifacts are on S3, GCS or Azure "
            "(docs/mlflow.md), then retrain"
        )
    return uri


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split(":")[1].strip())
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    ui = commands.add_parser("ui", help="the MLflow UI: runs, models and registered versions")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", default="5000")
    runs = commands.add_parser("runs", help="print the store's location and the latest runs")
    runs.add_argument("--limit", type=int, default=5)
    commands.add_parser("log-kept", help=f"log and register the run kept in {UNLOGGED_RUN_FILE}")
    commands.add_parser("register", help="register the model in models/ (a kept experiment's)")
    moved = commands.add_parser("promote", help="move mlflow.model_alias to a version anyway")
    moved.add_argument("version", help="the registered version, e.g. 3")
    where = commands.add_parser("model-uri", help="print where a registered version's files are")
    where.add_argument("--alias", default=None, help="the alias (default: mlflow.model_alias)")
    args = parser.parse_args(argv)
    settings = load_params(args.root).mlflow
    if args.command == "runs":
        show_runs(settings, args.limit)
    elif args.command == "log-kept":
        log_kept(args.root, settings)
    elif args.command == "register":
        register(args.root, settings)
    elif args.command == "promote":
        promote(settings, args.version)
    elif args.command == "model-uri":
        print(model_uri(settings, args.alias or settings.model_alias))
    else:
        open_ui(settings, args.host, args.port)


if __name__ == "__main__":
    main()
