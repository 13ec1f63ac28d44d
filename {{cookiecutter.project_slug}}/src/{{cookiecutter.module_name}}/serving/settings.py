"""The `serving:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from pydantic import PositiveFloat, PositiveInt

from ..config import Params, Section, section


class ServingSettings(Section):
    # Which model is served: predict.model_source (MODEL_SOURCE), as for batch prediction.
    max_batch_rows: PositiveInt  # records per /predict request; more gets a 422
    # Defaults (set any under `serving:` in params.yaml to change it):
    access_log: bool = True  # one JSON log line per request
    max_request_bytes: PositiveInt = 1 << 20  # a larger request body gets a 413, unread (1 MiB)
    # no model at start (not trained yet, registry down): retry this often; /ready says why
    reload_seconds: PositiveFloat = 10


PARAMS_SECTIONS = {"serving": ServingSettings}


def serving_settings(params: Params) -> ServingSettings:
    return section(params, ServingSettings)
