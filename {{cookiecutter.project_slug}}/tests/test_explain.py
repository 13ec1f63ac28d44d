"""SHAP explanations per raw feature: for every model family they add up, from the expected
output to the model's own; the importance ranks the feature the target depends on first."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, build_estimator
from {{ cookiecutter.module_name }}.modeling.explain import (
    Explainer,
    global_importance,
    raw_feature_of,
)
from {{ cookiecutter.module_name }}.modeling.model import build_model

from synthetic import synthetic_frame, synthetic_schema


def fitted(task: str, family: str):
    features, target = synthetic_frame(task)
    model = build_model(synthetic_schema(task), 5, build_estimator(family, {}, task, 0))
    return model.fit(features, target), features


def test_every_output_column_goes_back_to_its_raw_feature():
    model, features = fitted("classification", "linear")
    owners = raw_feature_of(model, list(features.columns))
    assert set(owners) == set(features.columns)
    assert owners.count("sold") == 4  # year, month, day, weekday
    assert owners.count("colour") >= 4  # one-hot, the infrequent column among them


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_contributions_add_up_to_the_output(task, family):
    model, features = fitted(task, family)
    classes = list(getattr(model, "classes_", []))
    explainer = Explainer(model, features.sample(50, random_state=0), classes)
    records = features.head(5)
    explained = explainer.explain(records)
    assert explained.values.shape[:2] == (5, features.shape[1])
    total = explained.base + explained.values.sum(axis=1)  # records x outputs
    estimator = model.steps[-1][1]
    transformed = model.steps[0][1].transform(records)
    if explainer.units == "probability":
        expected = model.predict_proba(records)
    elif explainer.units == "log-odds":
        expected = estimator.decision_function(transformed)
        expected = expected[:, None] if expected.ndim == 1 else expected
        if expected.shape[1] != total.shape[1]:  # a log-odds per class, a softmax's inputs
            expected = expected - expected.mean(axis=1, keepdims=True)
            total = total - total.mean(axis=1, keepdims=True)
    else:
        expected = model.predict(records)[:, None]
    np.testing.assert_allclose(total, expected, atol=1e-3)


def test_importance_ranks_what_the_target_depends_on():
    model, features = fitted("regression", "random_forest")
    explainer = Explainer(model, features.sample(50, random_state=0), [])
    importance = global_importance(explainer, features.head(200))
    assert importance["feature"].iloc[0] == "size"  # the target is built from size
    assert importance.loc[importance["feature"] == "weight", "importance"].item() < 0.5
