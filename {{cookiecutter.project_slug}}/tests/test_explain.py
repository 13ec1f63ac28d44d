"""SHAP explanations per raw feature: for every model family they add up, from the expected
output to the model's own; the importance ranks the feature the target depends on first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, NUMERIC, Schema
from {{ cookiecutter.module_name }}.modeling import explain
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, build_estimator, model_size
from {{ cookiecutter.module_name }}.modeling.explain import (
    Explainer,
    global_importance,
    raw_feature_of,
    top_contributions,
)
from {{ cookiecutter.module_name }}.modeling.model import build_model

from synthetic import synthetic_frame, synthetic_schema


def fitted(task: str, family: str, **params: object):
    if family == "linear":
        params.pop("n_estimators", None)
    features, target = synthetic_frame(task)
    model = build_model(synthetic_schema(task), 5, build_estimator(family, params, task, 0))
    return model.fit(features, target), features


def test_every_output_column_goes_back_to_its_raw_feature():
    model, features = fitted("classification", "linear")
    owners = raw_feature_of(model)
    assert set(owners) == set(features.columns)
    assert owners.count("sold") == 4  # year, month, day, weekday
    assert owners.count("colour") >= 4  # one-hot, the infrequent column among them


def test_encoded_columns_go_back_by_position_not_by_name():
    """A category "1" of `x` is named `categorical__x_1`, like a numeric feature `x_1` would
    start: the layout, not the name, says whose it is."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x_1": rng.normal(size=200), "x": rng.choice(["1", "2", "3"], 200).astype(object)}
    )
    schema = Schema("y", "regression", {"x_1": NUMERIC, "x": CATEGORICAL}, {}, {})
    model = build_model(schema, 5, build_estimator("linear", {}, "regression", 0))
    model.fit(frame, frame["x_1"] + (frame["x"] == "1"))
    names = list(model.steps[0][1].get_feature_names_out())
    owners = dict(zip(names, raw_feature_of(model), strict=True))
    assert owners["categorical__x_1"] == "x" and owners["numeric__x_1"] == "x_1"
    assert sorted(owners.values()) == ["x", "x", "x", "x_1"]


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
    if explainer.units == "probability":
        expected = model.predict_proba(records)
    elif explainer.units == "log-odds":  # a sigmoid's or a softmax's inputs, read back
        logs = np.log(np.clip(model.predict_proba(records), 1e-12, 1))
        if total.shape[1] == 1:
            expected = logs[:, 1:] - logs[:, :1]
        else:
            expected = logs - logs.mean(axis=1, keepdims=True)
            total = total - total.mean(axis=1, keepdims=True)
    else:
        expected = model.predict(records)[:, None]
    np.testing.assert_allclose(total, expected, atol=1e-3)


def test_importance_ranks_what_the_target_depends_on():
    model, features = fitted("regression", "random_forest")
    explainer = Explainer(model, features.sample(50, random_state=0), [])
    importance = global_importance(explainer, features.head(200)).features
    assert importance["feature"].iloc[0] == "size"  # the target is built from size
    assert importance.loc[importance["feature"] == "weight", "importance"].item() < 0.5


ROUNDS = {"random_forest": "n_estimators", "gradient_boosting": "max_iter"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_size_of_every_tree_family_is_read_and_other_models_have_none(family):
    """Binary classification: one tree a round (or a forest's tree), each with leaves."""
    model, _ = fitted("classification", family, **{ROUNDS.get(family, "n_estimators"): 7})
    size = model_size(model.steps[-1][1])
    if not FAMILIES[family].tree:
        assert size is None
        return
    assert size.trees == 7 and size.nodes > size.leaves > 7 and size.shap_cost > size.leaves
    assert size.nodes == 2 * size.leaves - size.trees  # binary trees: a node splits in two


def test_a_model_too_big_for_exact_shap_is_explained_approximately(monkeypatch):
    """The cost of exact TreeSHAP decides how many rows evaluate explains, and whether exactly;
    the approximation still adds up to the model's output."""
    model, features = fitted("regression", "random_forest", n_estimators=20)
    explainer = Explainer(model, features.sample(50, random_state=0), [])
    cost = explainer.size.shap_cost
    plan = explainer.importance_plan(available=400, wanted=300)
    assert (plan.rows, plan.approximate) == (300, False)  # small: everything asked for

    monkeypatch.setattr(explain, "IMPORTANCE_BUDGET", cost * 250)
    plan = explainer.importance_plan(available=400, wanted=300)
    assert (plan.rows, plan.approximate) == (250, False) and "exact TreeSHAP on 250" in plan.note

    monkeypatch.setattr(explain, "IMPORTANCE_BUDGET", cost * 10)
    plan = explainer.importance_plan(available=400, wanted=300)
    assert (plan.rows, plan.approximate) == (300, True) and "Saabas" in plan.note
    importance = global_importance(explainer, features.head(plan.rows), plan.approximate).features
    assert importance["feature"].iloc[0] == "size"

    assert explainer.exact_per_record()
    monkeypatch.setattr(explain, "RECORD_BUDGET", cost / 2)
    assert not explainer.exact_per_record()
    records = features.head(3)
    approximated = explainer.explain(records, approximate=True)
    total = approximated.base + approximated.values.sum(axis=1)
    np.testing.assert_allclose(total[:, 0], model.predict(records), atol=1e-6)
    found = top_contributions(explainer, records, list(model.predict(records)), top=2)
    assert [len(item["contributions"]) for item in found] == [2, 2, 2]


def test_a_lightgbm_model_too_big_for_exact_shap_is_explained_exactly_on_fewer_rows(monkeypatch):
    """shap cannot approximate LightGBM (its own TreeSHAP): exact, on MIN_EXACT_ROWS rows at
    most, and per record; an AutoML winner with hundreds of deep trees gets there."""
    model, features = fitted("classification", "lightgbm", n_estimators=20)
    explainer = Explainer(model, features.sample(50, random_state=0), list(model.classes_))
    cost = explainer.size.shap_cost
    monkeypatch.setattr(explain, "IMPORTANCE_BUDGET", cost * 10)
    monkeypatch.setattr(explain, "MIN_EXACT_ROWS", 40)
    plan = explainer.importance_plan(available=400, wanted=300)
    assert (plan.rows, plan.approximate) == (40, False) and "no approximation" in plan.note
    importance = global_importance(explainer, features.head(plan.rows), plan.approximate).features
    assert importance["feature"].iloc[0] == "size"
    monkeypatch.setattr(explain, "RECORD_BUDGET", cost / 2)
    assert explainer.exact_per_record()
    records = features.head(3)
    found = top_contributions(explainer, records, list(model.predict(records)), top=2)
    assert [len(item["contributions"]) for item in found] == [2, 2, 2]
