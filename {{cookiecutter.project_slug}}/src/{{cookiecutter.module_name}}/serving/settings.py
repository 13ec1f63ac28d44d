"""The `serving:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, PositiveFloat, PositiveInt

from ..config import Params, Section, section


class ServingSettings(Section):
    ENV: ClassVar[dict[str, str]] = {
        "challenger": "CHALLENGER",
        "challenger_share": "CHALLENGER_SHARE",
    }
    # Which model is served: predict.model_source (MODEL_SOURCE), as for batch prediction.
    max_batch_rows: PositiveInt  # records per /predict request; more gets a 422
    # Defaults (set any under `serving:` in params.yaml to change it):
    access_log: bool = True  # one JSON log line per request
    max_request_bytes: PositiveInt = 1 << 20  # a larger request body gets a 413, unread (1 MiB)
    # no model at start (not trained yet, registry down): retry this often; /ready says why
    reload_seconds: PositiveFloat = 10
    # The registered version mlflow.challenger_alias points to, beside the champion
    # (docs/serving.md): off; shadow (it scores every request off the request path, the
    # champion answers); split (it answers challenger_share of the requests)
    challenger: Annotated[
        Literal["off", "shadow", "split"],
        BeforeValidator(lambda value: "off" if value is False else value),  # YAML reads off: false
    ] = "off"
    challenger_share: Annotated[float, Field(gt=0, lt=1)] = 0.1
    # `make promote` (no VERSION) moves the champion alias to the challenger once it scored at
    # least this many live records and does at least as well on labelled data
    promote_min_records: Annotated[int, Field(ge=0)] = 1000


PARAMS_SECTIONS = {"serving": ServingSettings}


def serving_settings(params: Params) -> ServingSettings:
    return section(params, ServingSettings)
