"""The `serving:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from pydantic import PositiveFloat, PositiveInt

from ..config import Params, Section, section


class ServingSettings(Section):
    # Which model is served: predict.model_source (MODEL_SOURCE), as for batch prediction.
    max_batch_rows: PositiveInt  # records per /predict request; more gets a 422
    access_log: bool  # one JSON log line per request
    max_request_bytes: PositiveInt  # a larger request body gets a 413, unread
    reload_seconds: PositiveFloat  # without a model, try loading it again this often


PARAMS_SECTIONS = {"serving": ServingSettings}


def serving_settings(params: Params) -> ServingSettings:
    return section(params, ServingSettings)
