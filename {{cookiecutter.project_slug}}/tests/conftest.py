"""Shared fixtures: scratch copies of the project, so tests never touch its data, models, runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.module_name }}.config import EMBEDDED_STORE, SQLITE
from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, DATETIME, NUMERIC, Schema
from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train
from {{ cookiecutter.module_name }}.tracking.lineage import file_md5

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Creating an MLflow sqlite store runs every schema migration (~3 s): scratch projects start
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


# mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI (MLflow 3), which load_params reads
# as the user's override: each test ends with the value the session started with.
_SESSION_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")


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


SYNTHETIC_ROWS = 400
FEATURES = {"size": NUMERIC, "weight": NUMERIC, "colour": CATEGORICAL, "sold": DATETIME}


def synthetic_frame(task: str, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numbers with gaps, a rare and a missing category, dates; and a target of the task."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, SYNTHETIC_ROWS)
    size[rng.random(SYNTHETIC_ROWS) < 0.1] = np.nan
    colour = rng.choice(["red", "blue", "green", "mauve"], SYNTHETIC_ROWS, p=[0.5, 0.3, 0.19, 0.01])
    colour = colour.astype(object)
    colour[rng.random(SYNTHETIC_ROWS) < 0.05] = None
    sold = pd.date_range("2020-01-01", periods=SYNTHETIC_ROWS, freq="D").strftime("%Y-%m-%d")
    features = pd.DataFrame(
        {"size": size, "weight": rng.normal(5, 1, SYNTHETIC_ROWS), "colour": colour, "sold": sold}
    )
    signal = np.nan_to_num(size, nan=10) + (colour == "red") * 3
    if task == "classification":
        target = pd.Series(np.where(signal > 11, "big", "small"))
    else:
        target = pd.Series(signal + rng.normal(0, 0.5, SYNTHETIC_ROWS))
    return features, target


def synthetic_schema(task: str) -> Schema:
    return Schema("target", task, dict(FEATURES), {"sold": "ISO8601"}, {})
