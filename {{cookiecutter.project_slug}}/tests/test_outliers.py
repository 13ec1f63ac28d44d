"""The outlier detector train stores with the model: far-out values and impossible combinations
flagged, held-out clean rows rarely, with a reason; it survives the model directory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.dataset.schema import Schema
from {{ cookiecutter.module_name }}.modeling.outliers import MARGIN_SD, OutlierDetector


def correlated(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.lognormal(size=rows)  # skewed, as amounts are
    return pd.DataFrame(
        {
            "size": size,
            "weight": size * 2 + rng.normal(0, 0.1, size=rows),  # tied to size
            "age": rng.integers(0, 80, size=rows).astype(float),
            "colour": rng.choice(["red", "blue"], size=rows),
        }
    )


@pytest.fixture(scope="module")
def detector() -> OutlierDetector:
    schema = Schema(
        target="y",
        task="regression",
        features={
            "size": "numeric",
            "weight": "numeric",
            "age": "numeric",
            "colour": "categorical",
        },
        date_formats={},
        dropped={},
    )
    found = OutlierDetector.fit(correlated(20_000, 0), schema)
    assert found is not None and found.columns == ["size", "weight", "age"]
    return found


def test_clean_rows_are_rarely_flagged(detector):
    clean = correlated(5_000, 1)
    assert detector.score(clean).flagged.mean() <= 0.02


def test_a_value_far_outside_the_range_is_flagged_with_its_column(detector):
    rows = correlated(50, 2)
    rows["age"] = 79 + (MARGIN_SD + 2) * 23.1  # 3 sd beyond the largest age
    found = detector.score(rows)
    assert found.flagged.all()
    assert all(
        reason.startswith("age ") and "outside the training range" in reason
        for reason in found.reasons
    )


def test_an_impossible_combination_is_flagged(detector):
    rows = correlated(50, 3)
    typical = correlated(5_000, 4)
    rows["size"] = np.quantile(typical["size"], 0.1)  # small, yet heavy: each value ordinary
    rows["weight"] = np.quantile(typical["weight"], 0.9)
    found = detector.score(rows)
    assert found.flagged.mean() >= 0.9
    assert all(
        "combination" in reason and "weight" in reason
        for reason in np.array(found.reasons)[found.flagged]
    )


def test_values_near_the_float_limit_score_finite(detector):
    rows = pd.DataFrame({"size": [1.7976931348623157e308], "weight": [-1e308], "age": [30.0]})
    found = detector.score(rows)
    assert found.flagged.all() and np.isfinite(found.scores).all()


def test_missing_and_unparsable_values_count_as_ordinary(detector):
    rows = pd.DataFrame({"size": [np.nan, 1.0], "weight": [2.0, None], "age": ["x", 30]})
    assert not detector.score(rows).flagged.any()


def test_it_round_trips_and_needs_a_numeric_feature(detector):
    rows = correlated(100, 5)
    again = OutlierDetector.from_bytes(detector.to_bytes())
    assert np.array_equal(again.score(rows).scores, detector.score(rows).scores)
    text_only = Schema("y", "classification", {"note": "text"}, {}, {})
    assert OutlierDetector.fit(pd.DataFrame({"note": ["a"] * 50}), text_only) is None


def test_its_quantile_transform_is_scikit_learns_inside_the_range(detector):
    """The arrays the detector keeps give what QuantileTransformer gives inside the training
    range; the minimum, the maximum and beyond stay half a quantile step inside (scikit-learn
    puts them at +-5.2), missing values are 0."""
    from scipy.special import ndtri
    from sklearn.preprocessing import QuantileTransformer

    from {{ cookiecutter.module_name }}.modeling.outliers import FIT_ROWS, numeric_matrix

    train = numeric_matrix(correlated(20_000, 0), detector.columns)
    reference = QuantileTransformer(
        n_quantiles=1000, output_distribution="normal", subsample=FIT_ROWS, random_state=0
    ).fit(train)
    rows = numeric_matrix(correlated(500, 6), detector.columns)
    inside = ((rows > train.min(axis=0)) & (rows < train.max(axis=0))).all(axis=1)
    inside &= (np.abs(reference.transform(rows)) < 3).all(axis=1)  # not in the outer half-steps
    assert inside.sum() > 400
    assert np.allclose(
        detector.normal(rows[inside]), reference.transform(rows[inside]), rtol=0, atol=1e-9
    )
    edges = np.array([train.min(axis=0), train.max(axis=0), train.max(axis=0) * 10])
    edges[2, 2] = np.nan
    found = detector.normal(edges)
    limit = -float(ndtri(0.5 / 999))
    assert np.all(np.abs(found) <= limit + 1e-9) and found[2, 2] == 0
    assert np.allclose(np.abs(found[:2, :2]), limit)
