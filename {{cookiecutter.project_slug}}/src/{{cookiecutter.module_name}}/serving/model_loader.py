"""Loading the model the API serves: models/model from `make repro`, or the registered version
that mlflow.model_alias points to; with its signature, classes and fast scorer."""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Params
from ..paths import MODEL_DIR, RUN_FILE
from ..tracking.server import TrackingUnavailable, check_tracking_server

LOGGER = logging.getLogger(__name__)


@dataclass
class ServedModel:
    """The loaded model and what the API says about it."""

    model: Any
    name: str
    version: str
    source: str
    columns: dict[str, str]  # feature -> MLflow signature type, in training order
    classes: list[Any] = field(default_factory=list)  # empty for a regressor
    fast: Any = None  # fast_forest.FastModel when it reproduces the model, else None

    @property
    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "source": self.source}


def load_served(root: Path, params: Params) -> ServedModel:
    """Load the configured model with its signature; raise RuntimeError when it is missing."""
    import mlflow  # seconds to import: only here, at start-up
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    from ..modeling.model import load_pipeline
    from .scoring import fast_scorer

    source, alias = params.serving.model_source, params.mlflow.model_alias
    name = params.mlflow.registered_model_name
    if source == "local":
        path = root / MODEL_DIR
        if not (path / "MLmodel").exists():
            raise RuntimeError(f"{MODEL_DIR} has no model: run `make repro` first")
        run_file = root / RUN_FILE
        run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
        name = run.get("registered_model", name)
        version = str(run.get("registered_version", "local"))
    else:
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
        version = str(found.version)
    signature = Model.load(str(path)).signature
    if signature is None:
        raise RuntimeError(f"the model in {path} has no signature: retrain it with `make repro`")
    columns = {spec.name: spec.type.name for spec in signature.inputs.inputs}
    model = load_pipeline(path)
    classes = list(getattr(model, "classes_", []))
    return ServedModel(model, name, version, source, columns, classes, fast_scorer(model, path))
