"""The API's request and response bodies, built at start-up from the model's MLflow signature
(OpenAPI shows both), and validation errors as field-level 422 details."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from .model_loader import ServedModel


def integral_float(value: Any) -> Any:
    """4.0 is the integer 4 (clients often write every number as a float); 4.5 stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# MLflow signature types -> JSON field types, validated strictly ("1.5" is no number, false no
# year). Every field may be null (the model imputes it); NaN and infinity are refused, as JSON
# has no such numbers.
FIELD_TYPES: dict[str, Any] = {
    "double": Annotated[float, Field(allow_inf_nan=False)],
    "float": Annotated[float, Field(allow_inf_nan=False)],
    "long": Annotated[int, BeforeValidator(integral_float)],
    "integer": Annotated[int, BeforeValidator(integral_float)],
    "boolean": bool,
    "string": str,
    "datetime": str,
}


def request_models(served: ServedModel, max_rows: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """The request body and response, built from the model's signature (OpenAPI shows both)."""
    fields = {
        column: (FIELD_TYPES.get(kind, str) | None, ...) for column, kind in served.columns.items()
    }
    record = create_model("Record", __config__=ConfigDict(extra="forbid", strict=True), **fields)
    body = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, max_length=max_rows)),
    )
    prediction = str if served.classes else float
    response_fields: dict[str, Any] = {
        "model": (dict[str, str], ...),
        "predictions": (list[prediction], ...),
    }
    if served.classes:
        response_fields["probabilities"] = (list[dict[str, float]], ...)
    return body, create_model("PredictResponse", **response_fields)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors without the echoed input (it may hold NaN, which JSON cannot carry)."""
    return [
        {"loc": [str(part) for part in error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in errors
    ]
