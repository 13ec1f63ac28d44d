"""The target column's checks, shared by both prepares (in memory and, with the scale-out
option, partition by partition): it is present, a regression target is numbers, a
classification target has a few classes. Each failure stops with one line naming the fix."""

from __future__ import annotations

import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_numeric_dtype

from ..config import DataSection
from .schema import PARSE_SHARE, format_columns, format_value, to_numbers

# More distinct float values than this in a "classification" target means a regression target.
MAX_FLOAT_CLASSES = 50


def drop_missing_target(frame: pd.DataFrame, data: DataSection) -> pd.DataFrame:
    """Rows without a target teach nothing: drop them (saying how many), then check the task."""
    check_target_column(frame.columns, data)
    values = frame[data.target]
    if data.task == "regression" and (is_bool_dtype(values) or not is_numeric_dtype(values)):
        values = regression_target(values, data)
        frame = frame.assign(**{data.target: values})
    missing = values.isna()
    if missing.any():
        print(f"dropped {missing.sum()} rows with a missing target {data.target!r}")
    frame = frame.loc[~missing]
    if data.task == "classification":
        labels = frame[data.target]
        check_classes(labels.nunique(), is_float_dtype(labels), data.target)
    return frame


def check_target_column(columns: pd.Index, data: DataSection) -> None:
    if data.target not in columns:
        hint = "; a single column often means data.sep is wrong" if len(columns) == 1 else ""
        raise SystemExit(
            f"data.target {data.target!r} is not a column of {data.raw_path}; "
            f"columns: {format_columns(columns)}{hint}"
        )


def regression_target(values: pd.Series, data: DataSection) -> pd.Series:
    """A regression target that is not read as numbers: numbers parsed from its text, a few
    placeholders such as "?" becoming missing targets; text throughout stops with one line."""
    check_regression_target(**regression_target_facts(values, data.decimal), data=data)
    return to_numbers(values, data.decimal)


def regression_target_facts(values: pd.Series, decimal: str) -> dict:
    """Target values present, how many do not parse as numbers (`example`: one of them, else a
    value present), whether they are booleans: counts that add up over partitions."""
    known = values.dropna()
    not_numbers = known[to_numbers(known, decimal).isna().to_numpy()]
    example = (not_numbers if len(not_numbers) else known).iloc[0] if len(known) else None
    return {
        "known": len(known),
        "not_numbers": len(not_numbers),
        "example": example,
        "booleans": is_bool_dtype(values),
    }


def check_regression_target(
    known: int, not_numbers: int, example: object, booleans: bool, data: DataSection
) -> None:
    """`known` target values, `not_numbers` of which do not parse (`example`: one of them)."""
    if booleans or not_numbers > (1 - PARSE_SHARE) * known:
        raise SystemExit(
            f"data.task is regression but target {data.target!r} is not numeric "
            f"(e.g. {format_value(example)}): set data.task: classification"
        )


def check_classes(classes: int, float_labels: bool, target: str) -> None:
    """A classification target needs two classes, and float labels only a few distinct ones."""
    if classes < 2:
        raise SystemExit(
            f"target {target!r} has {classes} class(es): classification needs at least 2"
        )
    if float_labels and classes > MAX_FLOAT_CLASSES:
        raise SystemExit(
            f"data.task is classification but target {target!r} has {classes} distinct "
            "numeric values: set data.task: regression"
        )
