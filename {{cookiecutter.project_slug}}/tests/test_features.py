"""The preprocessing inside the model: raw columns in, numbers out, whatever serving sends."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, DATETIME, NUMERIC, Schema
from {{ cookiecutter.module_name }}.modeling.features import (
    MISSING_CATEGORY,
    DateParts,
    as_text,
    build_preprocessor,
)

SCHEMA = Schema(
    target="y",
    task="regression",
    features={"prix (€)": NUMERIC, "ville": CATEGORICAL, "Année": DATETIME},
    date_formats={"Année": "ISO8601"},
    dropped={},
)
TRAINING = pd.DataFrame(
    {
        "prix (€)": [1.0, 2.5, None, 4.0, 5.5, 6.0],
        "ville": ["Paris", "Paris", "Lyon", None, "Paris", "Lyon"],
        "Année": ["2020-01-31", "2021-06-15", None, "2022-12-01", "2023-03-03", "2024-07-14"],
    }
)


def test_unseen_values_gaps_and_bad_dates_still_give_finite_numbers():
    preprocessor = build_preprocessor(SCHEMA, min_category_frequency=1).fit(TRAINING)
    request = pd.DataFrame(
        {"prix (€)": ["?", "3"], "ville": ["Nantes", None], "Année": ["not a date", None]}
    )
    encoded = preprocessor.transform(request)
    assert encoded.shape == (2, preprocessor.transform(TRAINING).shape[1])
    assert np.isfinite(encoded).all()


def test_dates_become_year_month_day_and_day_of_week():
    parts = DateParts("ISO8601").fit(TRAINING[["Année"]])
    assert parts.transform(TRAINING[["Année"]].head(1)).tolist() == [[2020, 1, 31, 4]]
    assert list(parts.get_feature_names_out()) == [
        "Année_year",
        "Année_month",
        "Année_day",
        "Année_day_of_week",
    ]


def test_categories_read_as_floats_match_integers_sent_later():
    encoded = as_text(pd.DataFrame({"code": [3.0, True, "a", np.nan, None]})).ravel()
    assert encoded.tolist() == ["3", "True", "a", MISSING_CATEGORY, MISSING_CATEGORY]


def test_the_fitted_preprocessing_pickles_by_reference():
    preprocessor = build_preprocessor(SCHEMA, min_category_frequency=1).fit(TRAINING)
    restored = pickle.loads(pickle.dumps(preprocessor))
    np.testing.assert_array_equal(restored.transform(TRAINING), preprocessor.transform(TRAINING))
