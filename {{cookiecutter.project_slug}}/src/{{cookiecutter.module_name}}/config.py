"""Read and check params.yaml, the project's one source of configuration.

Every mistake becomes a one-line SystemExit that names the key to fix, never a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = "params.yaml"
TASKS = ("classification", "regression")

# Stage inputs and outputs, relative to the project root: keep in step with dvc.yaml.
TRAIN_DATA = Path("data/processed/train.parquet")
TEST_DATA = Path("data/processed/test.parquet")
SCHEMA_FILE = Path("data/processed/schema.json")
MODEL_DIR = Path("models/model")
RUN_FILE = Path("models/mlflow_run.json")
METRICS_FILE = Path("reports/metrics.json")
PLOTS_DIR = Path("reports/plots")

# Every key params.yaml may hold, per section (an unknown one is a typo to report).
SECTIONS = {
    "data": (
        "raw_path",
        "target",
        "task",
        "sep",
        "decimal",
        "numeric_features",
        "categorical_features",
        "datetime_features",
        "drop_columns",
    ),
    "split": ("test_size", "validation_size", "seed", "stratify"),
    "features": ("min_category_frequency",),
    "model": ("name", "params"),
    "mlflow": ("tracking_uri", "experiment_name", "registered_model_name"),
}

Params = dict[str, dict[str, Any]]


def load_params(root: Path | str = ".") -> Params:
    """`<root>/params.yaml`, checked and normalised; root defaults to the current directory."""
    path = Path(root) / PARAMS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path} not found: run from the project root or pass --root") from None
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise SystemExit(f"{path} is not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise SystemExit(f"{path} must be a mapping with sections {', '.join(SECTIONS)}")
    data, split, features, model, mlflow = (_section(raw, name) for name in SECTIONS)

    task = _text(data, "data.task")
    if task not in TASKS:
        raise SystemExit(f"params.yaml: data.task is {task!r}; use one of {', '.join(TASKS)}")
    return {
        "data": {
            "raw_path": _text(data, "data.raw_path"),
            "target": _text(data, "data.target"),
            "task": task,
            "sep": _text(data, "data.sep"),
            "decimal": _text(data, "data.decimal"),
            "numeric_features": _columns(data, "data.numeric_features"),
            "categorical_features": _columns(data, "data.categorical_features"),
            "datetime_features": _columns(data, "data.datetime_features"),
            "drop_columns": _columns(data, "data.drop_columns"),
        },
        "split": {
            "test_size": _fraction(split, "split.test_size"),
            "validation_size": _fraction(split, "split.validation_size"),
            "seed": _integer(split, "split.seed"),
            "stratify": _flag(split, "split.stratify"),
        },
        "features": {
            "min_category_frequency": _min_frequency(features, "features.min_category_frequency"),
        },
        "model": {
            "name": _text(model, "model.name"),
            "params": _mapping(model, "model.params"),
        },
        "mlflow": {
            "tracking_uri": _text(mlflow, "mlflow.tracking_uri", allow_empty=True),
            "experiment_name": _text(mlflow, "mlflow.experiment_name"),
            "registered_model_name": _text(mlflow, "mlflow.registered_model_name"),
        },
    }


def require_outputs(root: Path, *paths: Path) -> None:
    """Stop with one line when an earlier stage has not produced its outputs yet."""
    for path in paths:
        if not (root / path).exists():
            raise SystemExit(f"{path} not found: run the pipeline with `dvc repro`")


def cli_root(description: str | None) -> Path:
    """Parse a stage's command line: the only option is the project root."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    return parser.parse_args().root


def _section(raw: dict, name: str) -> dict:
    # A typo such as `test_sise` must not silently fall back to nothing.
    known = SECTIONS[name]
    values = raw.get(name)
    if not isinstance(values, dict):
        raise SystemExit(f"params.yaml: missing section '{name}:' with keys {', '.join(known)}")
    unknown = [key for key in values if key not in known]
    if unknown:
        raise SystemExit(
            f"params.yaml: unknown key {name}.{unknown[0]}; expected one of {', '.join(known)}"
        )
    return values


def _required(values: dict, key: str) -> Any:
    name = key.split(".", 1)[1]
    if name not in values:
        raise SystemExit(f"params.yaml: missing key {key}")
    return values[name]


def _text(values: dict, key: str, *, allow_empty: bool = False) -> str:
    value = _required(values, key)
    if value is None and allow_empty:
        return ""
    if isinstance(value, (dict, list, bool)) or value is None or (value == "" and not allow_empty):
        raise SystemExit(f"params.yaml: {key} must be a non-empty string, got {value!r}")
    return str(value)


def _columns(values: dict, key: str) -> list[str]:
    # Optional: a missing key or an empty list means "infer from the data".
    value = values.get(key.split(".", 1)[1])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SystemExit(f"params.yaml: {key} must be a list of column names, got {value!r}")
    return [str(column) for column in value]


def _fraction(values: dict, key: str) -> float:
    value = _required(values, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise SystemExit(f"params.yaml: {key} must be a number between 0 and 1, got {value!r}")
    return float(value)


def _integer(values: dict, key: str) -> int:
    value = _required(values, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SystemExit(f"params.yaml: {key} must be an integer, got {value!r}")
    return value


def _flag(values: dict, key: str) -> bool:
    value = _required(values, key)
    if not isinstance(value, bool):
        raise SystemExit(f"params.yaml: {key} must be true or false, got {value!r}")
    return value


def _mapping(values: dict, key: str) -> dict[str, Any]:
    value = _required(values, key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SystemExit(f"params.yaml: {key} must be a mapping of parameter: value")
    return {str(name): setting for name, setting in value.items()}


def _min_frequency(values: dict, key: str) -> int | float:
    # Same meaning as scikit-learn's OneHotEncoder(min_frequency): a count or a share of rows.
    value = _required(values, key)
    valid_count = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    valid_share = isinstance(value, float) and 0 < value < 1
    if not (valid_count or valid_share):
        raise SystemExit(
            f"params.yaml: {key} must be a count >= 1 or a share between 0 and 1, got {value!r}"
        )
    return value
