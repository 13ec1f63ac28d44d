"""Preprocessing, built from the schema and kept inside the model's scikit-learn Pipeline.

The saved model therefore takes raw feature columns exactly as they appear in the CSV (or in a
serving request): numbers stored as text, missing values, unseen categories and date strings.
The functions and the class below are pickled by reference, so the model directory carries a copy
of this package (MLflow `code_paths`, see tracking.py) to load anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..dataset.schema import CATEGORICAL, DATETIME, NUMERIC, Schema, parse_dates

MISSING_CATEGORY = "(missing)"


def as_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Floats; text that is not a number (a "?" placeholder) becomes missing."""
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def as_text(frame: pd.DataFrame) -> np.ndarray:
    """Strings (missing stays NaN), so booleans, numbers and text encode alike."""
    return np.vectorize(_category, otypes=[object])(frame.to_numpy(dtype=object))


def _category(value: object) -> object:
    if pd.isna(value):
        return np.nan
    # A column with gaps is read as floats: 3.0 in training must match 3 in a request.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class DateParts(TransformerMixin, BaseEstimator):
    """Date columns to numbers a model can use: year, month, day, day of week (NaN if unparsed)."""

    parts = ("year", "month", "day", "day_of_week")

    def __init__(self, date_format: str = "ISO8601"):
        self.date_format = date_format

    def fit(self, X: pd.DataFrame, y: object = None) -> DateParts:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in X.columns:
            dates = parse_dates(X[name], self.date_format).dt
            for part in self.parts:
                columns.append(getattr(dates, part).to_numpy(dtype=float, na_value=np.nan))
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [f"{column}_{part}" for column in self.feature_names_in_ for part in self.parts]
        return np.asarray(names, dtype=object)


def build_preprocessor(schema: Schema, min_category_frequency: int | float) -> ColumnTransformer:
    """One branch per feature type; columns outside the schema (IDs, constants) are dropped."""
    branches = []
    if numeric := schema.columns(NUMERIC):
        numbers = make_pipeline(
            FunctionTransformer(as_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median"),
            StandardScaler(),
        )
        branches.append(("numeric", numbers, numeric))
    if categorical := schema.columns(CATEGORICAL):
        categories = make_pipeline(
            FunctionTransformer(as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
            # Rare categories share one "infrequent" column; unseen ones join it (or get zeros).
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=min_category_frequency,
                sparse_output=False,
            ),
        )
        branches.append(("categorical", categories, categorical))
    for position, column in enumerate(schema.columns(DATETIME)):
        dates = make_pipeline(
            DateParts(schema.date_formats[column]),
            SimpleImputer(strategy="median"),
            StandardScaler(),
        )
        branches.append((f"date_{position}", dates, [column]))
    return ColumnTransformer(branches, remainder="drop")
