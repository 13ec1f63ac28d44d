"""What a record sent for prediction may hold, and the one check of it, for the API (JSON
records) and for batch prediction (a DataFrame read from CSV or Parquet) alike.

A record is a row of the raw data as it appears there: every feature column, plus whichever of
the other raw columns it has (an ID, a dropped or constant column, the target itself), which
are accepted and ignored; the ID columns are echoed back with the predictions. Refused, field
by field: a column the raw data never had, a missing feature, a value of the wrong type, a
number or date that does not parse. Text that stood for a missing value in the training data
("?", "n/a" in a numeric column) is a missing value here too.

JSON carries types, so records are held to the type each column had in the raw data; a CSV
carries none, so a batch is parsed as the pipeline parsed the raw CSV. The rules per value are
the same functions either way (`parse_number`, `parse_date`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..dataset.schema import (
    DATETIME,
    JSON_BOOLEAN,
    JSON_NUMBER,
    JSON_STRING,
    NUMERIC,
    TEXT,
    Schema,
    format_value,
    parse_dates,
    to_numbers,
)

JSON_TYPES = {JSON_NUMBER: "number", JSON_STRING: "string", JSON_BOOLEAN: "boolean"}
# Text a numeric column may hold (the decimal mark is the project's): what float() accepts,
# minus words such as "inf" or "nan".
NUMBER_TEXT = r"^\s*[-+]?(\d+({d}\d*)?|{d}\d+)([eE][-+]?\d+)?\s*$"
DATE_PATTERNS = {"ISO8601": r"^\d{4}-\d{2}-\d{2}", "%m/%d/%Y": r"^\d{1,2}/\d{1,2}/\d{4}$"}
DATE_PATTERNS["%d/%m/%Y"] = DATE_PATTERNS["%m/%d/%Y"]


@dataclass
class FieldError:
    row: int  # position of the record in the request, or row number in the batch file
    field: str
    message: str
    type: str


@dataclass
class Checked:
    """The good records' feature columns (the model's input), their IDs, and what was wrong
    with the others."""

    # The feature columns: a DataFrame (batch prediction), or one typed array per feature when
    # the records came as JSON (the API), so that a request scored by onnxruntime makes no
    # DataFrame: building one and selecting its columns took 0.4 ms, most of a one-row request.
    columns: pd.DataFrame | dict[str, np.ndarray]
    id_columns: pd.DataFrame | dict[str, np.ndarray]
    rows: np.ndarray  # position of each good record among those given
    errors: list[FieldError] = field(default_factory=list)
    # The numeric features as one float matrix (RecordSchema.numeric_columns' order), when the
    # records came as JSON: the API's outlier flags and change points read it (no pandas pass)
    numbers: np.ndarray | None = None
    # Each good record's checked values (features and IDs), when the records came as JSON: the
    # API's drift window keeps these (no pandas pass)
    values: list[dict] | None = None

    @cached_property
    def features(self) -> pd.DataFrame:
        """The feature columns as a DataFrame (scikit-learn, SHAP)."""
        columns = self.columns
        return columns if isinstance(columns, pd.DataFrame) else pd.DataFrame(columns)

    @cached_property
    def ids(self) -> pd.DataFrame:
        columns = self.id_columns
        return columns if isinstance(columns, pd.DataFrame) else pd.DataFrame(columns)

    def id_records(self) -> list[dict[str, Any]]:
        """The ID columns' values, one dict per good record (the API echoes them)."""
        if self.values is not None:
            names = list(self.id_columns)
            return [{name: values[name] for name in names} for values in self.values]
        return self.ids.to_dict("records")


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class RecordSchema:
    def __init__(self, schema: Schema, decimal: str = ".") -> None:
        self.schema = schema
        self.features = schema.features
        self.ids = list(schema.ids)
        # Every column of the raw data (older schemas did not record them: features, target,
        # dropped columns).
        known = schema.raw_types or dict.fromkeys(
            [*schema.features, schema.target, *schema.dropped], JSON_STRING
        )
        self.raw_types = dict(known)
        self.decimal = decimal
        self.number_text = re.compile(NUMBER_TEXT.format(d=re.escape(decimal)))

    # --- single values (the rules both paths share) -----------------------------------------

    def parse_number(self, column: str, text: str) -> float | None:
        """A number written as text, None for a marker of a missing value; ValueError else."""
        if text in self.schema.na_markers.get(column, ()):
            return None
        if not self.number_text.match(text):
            raise ValueError("not a number")
        value = float(text.replace(self.decimal, "."))
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    def parse_date(self, column: str, text: str) -> str | None:
        if text in self.schema.na_markers.get(column, ()):
            return None
        date_format = self.schema.date_formats[column]
        if pd.isna(parse_dates(pd.Series([text]), date_format).iloc[0]):
            raise ValueError(f"not a date in the format of the training data ({date_format})")
        return text

    # --- JSON records (the API) --------------------------------------------------------------

    def check_records(self, records: list[Any]) -> Checked:
        errors: list[FieldError] = []
        columns: dict[str, list[Any]] = {name: [] for name in [*self.features, *self.ids]}
        good: list[int] = []
        checked: list[dict] = []
        for position, record in enumerate(records):
            if not isinstance(record, dict):
                errors.append(FieldError(position, "", "a record is an object", "dict_type"))
                continue
            values, problems = self._check_record(position, record)
            errors += problems
            if not problems:
                good.append(position)
                checked.append(values)
                for name, value in values.items():
                    columns[name].append(value)
        # Typed arrays, no DataFrame (Checked.features makes one when it is asked for).
        numeric = {name: np.array(columns[name], dtype=float) for name in self.numeric_columns()}
        features = {
            name: numeric[name] if name in numeric else _objects(columns[name])
            for name in self.features
        }
        numbers = np.column_stack(list(numeric.values())) if numeric else np.empty((len(good), 0))
        # Object columns: an ID column with a missing value stays as sent (1, null), not 1.0, NaN.
        ids = {name: _objects(columns[name]) for name in self.ids}
        return Checked(features, ids, np.asarray(good, dtype=int), errors, numbers, checked)

    def numeric_columns(self) -> list[str]:
        return [name for name, kind in self.features.items() if kind == NUMERIC]

    def _check_record(self, position: int, record: dict) -> tuple[dict, list[FieldError]]:
        values: dict[str, Any] = {}
        errors = []
        for name in record:
            if name not in self.raw_types:
                errors.append(
                    FieldError(position, name, "not a column of the raw data", "extra_forbidden")
                )
        for name in self.ids:
            value = record.get(name)
            if isinstance(value, (dict, list)):
                errors.append(FieldError(position, name, "an ID is a single value", "id_type"))
            elif isinstance(value, float) and not math.isfinite(value):
                # NaN or Infinity (json.loads reads them; JSON has no such number): refused
                # here, as in a feature, rather than echoed into an answer JSON cannot carry.
                errors.append(FieldError(position, name, "not a finite number", "id_value"))
            values[name] = value
        for name, kind in self.features.items():
            if name not in record:
                errors.append(FieldError(position, name, "field required", "missing"))
                continue
            try:
                values[name] = self._json_value(name, kind, record[name])
            except ValueError as error:
                errors.append(FieldError(position, name, str(error), f"{kind}_value"))
        for name, value in record.items():  # the ignored raw columns: any single value
            if name in self.raw_types and name not in values and isinstance(value, (dict, list)):
                errors.append(FieldError(position, name, "a single value", "scalar_type"))
        return values, errors

    def _json_value(self, name: str, kind: str, value: Any) -> Any:
        if value is None:
            return None
        raw_type = self.raw_types.get(name, JSON_STRING)
        if kind == NUMERIC:
            if isinstance(value, bool):
                raise ValueError("not a number (a boolean)")
            if isinstance(value, (int, float)):
                if not math.isfinite(float(value)):
                    raise ValueError("not a finite number")
                return float(value)
            if isinstance(value, str) and raw_type == JSON_STRING:
                return self.parse_number(name, value)  # the raw data held numbers as text
            raise ValueError("not a number")
        if kind == DATETIME:
            if not isinstance(value, str):
                raise ValueError("a date is text")
            return self.parse_date(name, value)
        # A category keeps the JSON type it had in the raw data.
        expected = {JSON_NUMBER: (int, float), JSON_BOOLEAN: (bool,)}.get(raw_type, (str,))
        wrong_bool = isinstance(value, bool) and raw_type != JSON_BOOLEAN
        if not isinstance(value, expected) or wrong_bool:
            raise ValueError(f"not a {JSON_TYPES.get(raw_type, 'string')}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    # --- a DataFrame (batch prediction) ------------------------------------------------------

    def check_frame(self, frame: pd.DataFrame, first_row: int = 0) -> Checked:
        """Rows of a batch file; `first_row`: the number of the frame's first row in the file
        (counted from 1, the header is not a row), for the messages."""
        bad = np.zeros(len(frame), dtype=bool)
        errors: list[FieldError] = []
        out: dict[str, Any] = {}
        for name, kind in self.features.items():
            values = frame[name]
            if kind == NUMERIC:
                parsed, failed = self._frame_numbers(name, values)
            elif kind == DATETIME:
                parsed, failed = self._frame_dates(name, values)
            else:
                parsed, failed = values, np.zeros(len(values), dtype=bool)
            for position in np.flatnonzero(failed):
                what = "not a number" if kind == NUMERIC else "not a date"
                shown = f"{what}: {format_value(values.iloc[position])}"[:120]
                errors.append(FieldError(first_row + int(position), name, shown, f"{kind}_value"))
            bad |= failed
            out[name] = parsed
        good = ~bad
        features = pd.DataFrame(out, index=frame.index)[good]
        ids = frame.loc[good, [name for name in self.ids if name in frame.columns]]
        errors.sort(key=lambda error: error.row)
        return Checked(features, ids, np.flatnonzero(good), errors)

    def unknown_columns(self, columns: list[str]) -> list[str]:
        return [name for name in columns if name not in self.raw_types]

    def missing_features(self, columns: list[str]) -> list[str]:
        return [name for name in self.features if name not in columns]

    def _frame_numbers(self, name: str, values: pd.Series) -> tuple[pd.Series, np.ndarray]:
        if pd.api.types.is_bool_dtype(values):
            return values.astype(float), np.zeros(len(values), dtype=bool)
        markers = self.schema.na_markers.get(name, [])
        text = values.where(~values.astype(str).isin(markers)) if markers else values
        parsed = to_numbers(text, self.decimal)
        parsed = parsed.where(np.isfinite(parsed))
        failed = (parsed.isna() & text.notna()).to_numpy()
        return parsed, failed

    def _frame_dates(self, name: str, values: pd.Series) -> tuple[pd.Series, np.ndarray]:
        markers = self.schema.na_markers.get(name, [])
        text = values.where(values.notna() & ~values.astype(str).isin(markers))
        parsed = parse_dates(text.astype("string"), self.schema.date_formats[name])
        failed = (parsed.isna() & text.notna()).to_numpy()
        return text, failed

    # --- the OpenAPI description -------------------------------------------------------------

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of one record (OpenAPI shows it; schemathesis tests against it)."""
        properties: dict[str, Any] = {}
        for name, raw_type in self.raw_types.items():
            kind = self.features.get(name)
            properties[name] = self._property(name, kind, raw_type)
        return {
            "title": "Record",
            "type": "object",
            "properties": properties,
            "required": list(self.features),
            "additionalProperties": False,
            "description": "A row of the raw data: its features (null = missing); "
            "other raw columns are accepted and ignored, ID columns echoed back.",
        }

    def _property(self, name: str, kind: str | None, raw_type: str) -> dict[str, Any]:
        markers = self.schema.na_markers.get(name, [])
        null = [{"type": "null"}]
        if kind is None:  # an ignored raw column: any single value
            return {"anyOf": [{"type": t} for t in ("string", "number", "boolean", "null")]}
        if kind == NUMERIC:
            options = [{"type": "number"}]
            if raw_type == JSON_STRING:
                options.append({"type": "string", "pattern": self.number_text.pattern})
            if markers and raw_type == JSON_STRING:
                options.append({"enum": markers})
            return {"anyOf": options + null, "description": "a number"}
        if kind == DATETIME:
            date_format = self.schema.date_formats[name]
            text: dict[str, Any] = {"type": "string"}
            if date_format in DATE_PATTERNS:
                text["pattern"] = DATE_PATTERNS[date_format]
            return {"anyOf": [text, *null], "description": f"a date ({date_format})"}
        json_type = JSON_TYPES.get(raw_type, "string")
        what = "free text" if kind == TEXT else "a category"
        return {"anyOf": [{"type": json_type}, *null], "description": what}
