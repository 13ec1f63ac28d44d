"""What the API's OpenAPI document says of /predict: the request body (records as the raw data
has them, from the served model's schema) and the answer."""

import math
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, create_model

from ..predict.records import FieldError, RecordSchema


def request_body(records: RecordSchema, max_rows: int) -> dict[str, Any]:
    """The `requestBody` of /predict."""
    body = {
        "title": "PredictRequest",
        "type": "object",
        "properties": {
            "records": {
                "type": "array",
                "items": records.json_schema(),
                "minItems": 1,
                "maxItems": max_rows,
            }
        },
        "required": ["records"],
        "additionalProperties": False,
    }
    return {"required": True, "content": {"application/json": {"schema": body}}}


# serving.challenger: split (serving/challenger.py)
ROUTING_KEY_PARAMETER = {
    "name": "X-Routing-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "With a challenger in split mode: the same key always gets the same model "
    "(a user or session id); without one, the model is drawn at random",
}
MODEL_VERSION_HEADER = {
    "description": "The registered version of the model that answered",
    "schema": {"type": "string"},
}


class OutlierFlag(BaseModel):
    """Is the record unlike the training data (modeling/outliers.py)?"""

    outlier: bool
    score: float  # 1 and above: an outlier
    reason: str = ""  # which feature is out of range, or which combine unusually


def response_model(classes: list[Any], ids: list[str], outliers: bool) -> type[BaseModel]:
    prediction = str if classes else float
    fields: dict[str, Any] = {
        "model": (dict[str, str], ...),
        "predictions": (list[prediction], ...),
    }
    if classes:
        fields["probabilities"] = (list[dict[str, float]], ...)
    if outliers:  # a model with numeric features: one flag per record
        fields["outliers"] = (list[OutlierFlag], ...)
    if ids:
        fields["ids"] = (list[dict[str, Any]], ...)  # each record's ID columns, as sent
    return create_model("PredictResponse", **fields)


class WordContribution(BaseModel):
    ngram: str  # a word (or words) of the record's text
    contribution: float  # in the answer's units


class Contribution(BaseModel):
    feature: str
    value: Any = None  # the record's value of the feature
    contribution: float  # in the answer's units
    # A free-text feature: its words that pushed the prediction most (absent for other features).
    words: list[WordContribution] | None = None


class Explanation(BaseModel):
    prediction: str | float
    base_value: float  # the expected output, before any feature's contribution
    contributions: list[Contribution]  # the largest, by size


def explain_response_model(ids: list[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "model": (dict[str, str], ...),
        "units": (str, ...),  # probability, log-odds, or the target's (see modeling/explain.py)
        # exact SHAP, or Saabas' approximation for a tree model too big to explain exactly fast
        "method": (Literal["exact", "approximate"], ...),
        "explanations": (list[Explanation], ...),
    }
    if ids:
        fields["ids"] = (list[dict[str, Any]], ...)
    return create_model("ExplainResponse", **fields)


def error_detail(errors: list[FieldError]) -> list[dict[str, Any]]:
    """Field-level 422 details, located as FastAPI locates its own."""
    return [
        {
            "loc": ["body", "records", error.row, *([error.field] if error.field else [])],
            "msg": error.message,
            "type": error.type,
        }
        for error in errors
    ]


class FiniteJSONResponse(JSONResponse):
    """A JSON answer in which a missing or non-finite number (an echoed ID, a probability) is
    `null`: JSON has no NaN, and starlette's JSONResponse raises on one (a 500)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:  # rare: walk the answer only when the fast path found a NaN
            return super().render(_finite(content))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
