"""The ONNX export reproduces scikit-learn for every model family and task, on numbers with
gaps, rare and unseen categories, and dates; a step without a converter is named."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, build_estimator
from {{ cookiecutter.module_name }}.modeling.model import build_model
from {{ cookiecutter.module_name }}.modeling.onnx_export import OnnxModel, export_verified
from {{ cookiecutter.module_name }}.paths import MODEL_ONNX
from {{ cookiecutter.module_name }}.pipeline.train import model_extras

from conftest import PROJECT_ROOT
from synthetic import synthetic_frame as frame
from synthetic import synthetic_schema as schema_for


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_exports_and_verifies(task, family):
    features, target = frame(task)
    schema = schema_for(task)
    estimator = build_estimator(family, {}, task, 0)
    model = build_model(schema, 5, estimator).fit(features, target)  # "mauve" is infrequent
    test, _ = frame(task, seed=1)
    exported, verification = export_verified(model, schema, test, 1e-4)
    assert verification.verified, verification
    assert exported is not None and verification.rows == len(test) + 2  # with the edge rows

    onnx = OnnxModel(exported, schema, model)
    odd = test.head(3).astype(object)
    odd.loc[0, "colour"] = "never seen"  # unseen: the infrequent column, as scikit-learn does
    odd.loc[1, ["size", "sold"]] = None
    odd.loc[2, "colour"] = "mauve"
    expected = model.predict_proba(odd) if task == "classification" else model.predict(odd)
    np.testing.assert_allclose(onnx.run(odd), expected, atol=1e-4, rtol=1e-4)
    whole = onnx.run(test)
    onnx.block_rows = 7  # a wide model scores a chunk in slices: the same rows, the same order
    np.testing.assert_array_equal(onnx.run(test), whole)


def test_column_names_that_are_not_identifiers_export_and_verify():
    """Real CSV headers ("sold on", "size (cm)", accents): skl2onnx renames such inputs, and
    the dates still reach the graph as all four of their parts."""
    from {{ cookiecutter.module_name }}.dataset.schema import Schema

    renames = {"size": "size (cm)", "weight": "wéight", "colour": "colour name", "sold": "sold on"}
    features, target = frame("classification")
    features = features.rename(columns=renames)
    base = schema_for("classification")
    schema = Schema(
        base.target,
        base.task,
        {renames[column]: kind for column, kind in base.features.items()},
        {"sold on": base.date_formats["sold"]},
        {},
    )
    model = build_model(schema, 5, build_estimator("random_forest", {}, "classification", 0))
    model.fit(features, target)
    test, _ = frame("classification", seed=1)
    exported, verification = export_verified(model, schema, test.rename(columns=renames), 1e-4)
    assert verification.verified, verification
    onnx = OnnxModel(exported, schema, model)
    assert set(onnx.input_names) == set(schema.features)
    assert all(name.isidentifier() for name in onnx.input_names.values())


def test_a_step_without_a_converter_is_named_and_scikit_learn_scores():
    from sklearn.preprocessing import FunctionTransformer

    features, target = frame("classification")
    schema = schema_for("classification")
    model = build_model(schema, 5, build_estimator("linear", {}, "classification", 0))
    numeric = model.steps[0][1].transformers[0][1]
    numeric.steps.append(("square", FunctionTransformer(np.square)))
    model.fit(features, target)
    exported, verification = export_verified(model, schema, features, 1e-4)
    assert exported is None and not verification.verified
    assert verification.reason.startswith("skl2onnx cannot convert it (NotImplementedError")


def test_a_tree_model_over_onnx_max_nodes_is_not_exported():
    """Converting a huge forest takes minutes and gigabytes: over onnx.max_nodes, train says so
    and scikit-learn scores."""
    features, target = frame("classification")
    schema = schema_for("classification")
    model = build_model(schema, 5, build_estimator("random_forest", {}, "classification", 0))
    model.fit(features, target)
    params = load_params(PROJECT_ROOT)
    params.onnx = params.onnx.model_copy(update={"max_nodes": 10})
    extras, verification = model_extras(model, schema, features, features, params)
    assert not verification.verified and MODEL_ONNX not in extras
    assert "over onnx.max_nodes (10)" in verification.reason
