"""Shared fixtures: scratch copies of the project, so tests never touch its data, models, runs.

pytest-xdist's controller process imports this file too, and runs no test: what is heavy to
import (pandas, scikit-learn, MLflow) is imported in the fixtures, by the test processes.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from {{ cookiecutter.module_name }}.config import EMBEDDED_STORE, SQLITE

if TYPE_CHECKING:
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Creating an MLflow sqlite store runs every schema migration (1-2 s): scratch projects start
# from a copy of one empty store, created once per test process by `empty_mlflow_store`.
_EMPTY_STORE: list[Path] = []


def project_params() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8"))


def scaffold(root: Path, frame: pd.DataFrame | None = None, **changes: dict) -> Path:
    """Write params.yaml (this project's, with `changes` per section; the embedded MLflow store)
    and the raw CSV: `frame`, or else the bundled sample data."""
    params = project_params()
    sample = PROJECT_ROOT / params["data"]["raw_path"]
    # Scratch projects track to their own embedded store, never to the team's server.
    params["mlflow"]["tracking_uri"] = ""
    for section, values in changes.items():
        params[section].update(values)
    raw = root / params["data"]["raw_path"]
    raw.parent.mkdir(parents=True, exist_ok=True)
    if frame is None:
        shutil.copy(sample, raw)
    else:
        frame.to_csv(raw, index=False)
    text = yaml.safe_dump(params, allow_unicode=True, sort_keys=False)
    (root / "params.yaml").write_text(text, encoding="utf-8")
    if _EMPTY_STORE and not (root / EMBEDDED_STORE).exists():
        shutil.copy(_EMPTY_STORE[0], root / EMBEDDED_STORE)
    return root


def trained_on(folder: Path, frame: pd.DataFrame, **changes: dict) -> Path:
    """A scratch project on `frame` (params.yaml sections changed by `changes`), prepared and
    trained into its own MLflow store."""
    from {{ cookiecutter.module_name }}.pipeline import prepare, train

    root = scaffold(folder, frame, **changes)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        prepare.run(root)
        train.run(root)
    return root


# mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI (MLflow 3), which load_params reads
# as the user's override: each test ends with the value the session started with.
_SESSION_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The test process ends next. Python's exit runs the garbage collector over every object
    still alive (seconds, with MLflow and scikit-learn loaded); it skips frozen ones."""
    gc.freeze()


@pytest.fixture(autouse=True)
def tracking_uri_not_leaked() -> Iterator[None]:
    yield
    if _SESSION_TRACKING_URI is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = _SESSION_TRACKING_URI


@pytest.fixture(scope="session", autouse=True)
def empty_mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import mlflow

    from {{ cookiecutter.module_name }}.tracking.mlflow_store import quiet

    path = tmp_path_factory.mktemp("store") / EMBEDDED_STORE
    with quiet():
        mlflow.MlflowClient(tracking_uri=SQLITE + path.as_posix()).search_experiments()
    _EMPTY_STORE.append(path)
    return path


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    return lambda frame=None, **changes: scaffold(tmp_path, frame, **changes)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """prepare -> train -> evaluate once, on the bundled data, in a scratch project with its own
    git repository, DVC pointer file and embedded MLflow store."""
    from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train
    from {{ cookiecutter.module_name }}.tracking.lineage import file_md5

    root = scaffold(tmp_path_factory.mktemp("project"))
    raw = root / project_params()["data"]["raw_path"]
    dvc_md5 = file_md5(raw)
    pointer = f"outs:\n- md5: {dvc_md5}\n  size: {raw.stat().st_size}\n  path: {raw.name}\n"
    raw.with_name(raw.name + ".dvc").write_text(pointer, encoding="utf-8")
    commit = _git_commit(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)  # runs go to the scratch store
        prepare.run(root)
        logged = train.run(root)
        metrics = evaluate.run(root)
    return {
        "root": root,
        "logged": logged,
        "metrics": metrics,
        "dvc_md5": dvc_md5,
        "commit": commit,
    }


def _git_commit(root: Path) -> str | None:
    """Commit the scratch project, when git is installed: lineage must record that commit."""
    if shutil.which("git") is None:
        return None
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "scratch"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True)
    return done.stdout.decode().strip()
