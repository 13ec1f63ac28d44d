"""Which model predictions come from, and loading it: models/model from `make repro` (source
`local`), or the registered version that mlflow.model_alias points to (`registry`). The API and
batch prediction load it the same way, with what travels in the model directory: the schema of
the raw data (what a record may hold) and, when it verified at training, the ONNX export."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Params
from ..dataset.schema import Schema
from ..modeling import onnx_export
from ..modeling.model import load_pipeline
from ..modeling.outliers import OutlierDetector
from ..paths import MODEL_DIR, MODEL_ONNX, MODEL_ONNX_CHECK, MODEL_OUTLIERS, MODEL_SCHEMA, RUN_FILE
from ..tracking.server import TrackingUnavailable, check_tracking_server

LOGGER = logging.getLogger(__name__)


@dataclass
class PredictionModel:
    """The loaded model and what predictions say about it."""

    pipeline: Any  # the scikit-learn Pipeline
    schema: Schema
    name: str
    version: str
    source: str
    path: Path
    classes: list[Any] = field(default_factory=list)  # empty for a regressor
    onnx: Any = None  # an onnx_export.OnnxModel when the export verified, else None
    scorer_reason: str = ""  # why scikit-learn scores, when it does
    outliers: OutlierDetector | None = None  # None: a model without numeric features

    @property
    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "source": self.source}

    @property
    def scorer(self) -> str:
        return "onnxruntime" if self.onnx is not None else "scikit-learn"


def load_model(
    root: Path, params: Params, source: str | None = None, threads: int = 1, alias: str = ""
) -> PredictionModel:
    """Load the configured model (`source` overrides predict.model_source; `alias`, the
    registered version mlflow.model_alias points to); RuntimeError with a one-line reason when
    there is none to load. `threads`: onnxruntime's (0 = every core)."""
    source = source or params.predict.model_source
    alias, name = alias or params.mlflow.model_alias, params.mlflow.registered_model_name
    if source == "local":
        path = root / MODEL_DIR
        if not (path / "MLmodel").exists():
            raise RuntimeError(f"{MODEL_DIR} has no model: run `make repro` first")
        run_file = root / RUN_FILE
        run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
        name = run.get("registered_model", name)
        version = str(run.get("registered_version") or "local")
    else:
        path, version = _download_registered(params, name, alias)
    if not (path / MODEL_SCHEMA).exists():
        raise RuntimeError(
            f"the model in {path} has no {MODEL_SCHEMA} (trained by an older version of this "
            "project): retrain it with `make repro`"
        )
    schema = Schema.load(path / MODEL_SCHEMA)
    pipeline = load_pipeline(path)
    classes = list(getattr(pipeline, "classes_", []))
    onnx, reason = _onnx_model(path, schema, pipeline, threads)
    if onnx is None:
        LOGGER.warning("scoring with scikit-learn", extra={"fields": {"reason": reason}})
    outliers = None
    if (path / MODEL_OUTLIERS).exists():  # a model trained before the detector has none
        outliers = OutlierDetector.from_bytes((path / MODEL_OUTLIERS).read_bytes())
    return PredictionModel(
        pipeline, schema, name, version, source, path, classes, onnx, reason, outliers
    )


def _download_registered(params: Params, name: str, alias: str) -> tuple[Path, str]:
    import mlflow  # seconds to import: only for the registry
    from mlflow.exceptions import MlflowException

    uri = params.mlflow.tracking_uri
    try:
        check_tracking_server(uri)
    except TrackingUnavailable as error:
        raise RuntimeError(str(error)) from None
    mlflow.set_tracking_uri(uri)
    try:
        found = mlflow.MlflowClient().get_model_version_by_alias(name, alias)
        path = Path(mlflow.artifacts.download_artifacts(f"models:/{name}@{alias}"))
    except MlflowException as error:
        raise RuntimeError(
            f"registered model {name!r} has no alias {alias!r} at {uri}: {error.message}"
        ) from None
    return path, str(found.version)


def _onnx_model(path: Path, schema: Schema, pipeline: Any, threads: int) -> tuple[Any, str]:
    """The ONNX model when train verified the export, else None and why not."""
    check_file = path / MODEL_ONNX_CHECK
    if not check_file.exists() or not (path / MODEL_ONNX).exists():
        return None, "the model has no ONNX export"
    check = json.loads(check_file.read_text(encoding="utf-8"))
    if not check.get("verified"):
        return None, f"its ONNX export was not verified: {check.get('reason', '')}"
    try:
        serialised = (path / MODEL_ONNX).read_bytes()
        return onnx_export.OnnxModel(serialised, schema, pipeline, threads), ""
    except Exception as error:  # onnxruntime missing or refusing the graph: scikit-learn scores
        return None, f"onnxruntime cannot load the export: {type(error).__name__}: {error}"
