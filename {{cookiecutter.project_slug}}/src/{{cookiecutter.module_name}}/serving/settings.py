"""The `serving:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import PositiveFloat, PositiveInt

from ..config import Section


class ServingSettings(Section):
    ENV: ClassVar[dict[str, str]] = {"model_source": "MODEL_SOURCE"}
    # local: models/model from `make repro`; registry: the version mlflow.model_alias points to
    model_source: Literal["local", "registry"]
    max_batch_rows: PositiveInt  # records per /predict request; more gets a 422
    access_log: bool  # one JSON log line per request
    max_request_bytes: PositiveInt  # a larger request body gets a 413, unread
    reload_seconds: PositiveFloat  # without a model, try loading it again this often


PARAMS_SECTIONS = {"serving": ServingSettings}
