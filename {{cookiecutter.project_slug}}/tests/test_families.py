"""The model families: each FAMILIES entry is consistent (its defaults and sweep space are its
estimators' own parameters, its library is pinned with the model), and each family runs the
pipeline end to end: trained, ONNX-verified, evaluated, explained, loaded back."""

from __future__ import annotations

import pytest

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.modeling.estimators import (
    FAMILIES,
    TASKS,
    accepted_params,
    build_estimator,
    family_of,
    needs_scaling,
)
from {{ cookiecutter.module_name }}.modeling.model import load_pipeline
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, MODEL_ONNX_CHECK
from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train
from {{ cookiecutter.module_name }}.tracking.training_run import distributions_of, requirements

from conftest import project_params


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_entry_holds_together(family, task):
    entry = FAMILIES[family]
    estimator = build_estimator(family, {}, task, seed=3)
    assert family_of(estimator) is entry
    accepted = estimator.get_params()
    for key, value in entry.params(task).items():
        assert accepted[key] == value, key  # the defaults reached the estimator
    for key, values in entry.search_space(task).items():
        section, name, parameter = key.split(".")
        assert (section, name) == ("model", "params"), key
        assert parameter in accepted_params(type(estimator)), key
        assert len(values) >= 2, key
    assert needs_scaling(estimator) is not entry.tree
    if "random_state" in accepted:
        assert accepted["random_state"] == 3  # split.seed, unless model.params sets it


def test_the_projects_model_is_a_family_and_params_yaml_only_overrides_it():
    model = project_params()["model"]
    assert model["name"] in FAMILIES
    assert not set(model["params"] or {}) - set(
        build_estimator(model["name"], {}, TASKS[0], 0).get_params()
    )


def test_params_yaml_replaces_a_default_key_by_key():
    default = FAMILIES["lightgbm"].defaults
    estimator = build_estimator("lightgbm", {"num_leaves": 7}, "regression", 0)
    assert estimator.num_leaves == 7 and estimator.learning_rate == default["learning_rate"]


def test_an_unknown_family_is_one_line_naming_every_known_one():
    with pytest.raises(SystemExit) as stopped:
        build_estimator("catboost", {}, "classification", 0)
    assert all(name in str(stopped.value) for name in FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_runs_the_pipeline(make_project, monkeypatch, family):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_project(model={"name": family, "params": {}})
    prepare.run(root)
    train.run(root)
    metrics = evaluate.run(root)
    task = load_params(root).data.task
    if task == "classification":
        assert metrics["accuracy"] > metrics["baseline_accuracy"] + 0.1
    else:
        assert metrics["rmse"] < 0.9 * metrics["baseline_rmse"]
    check = (root / MODEL_DIR / MODEL_ONNX_CHECK).read_text(encoding="utf-8")
    assert '"verified": true' in check, check
    model = load_pipeline(root / MODEL_DIR)
    assert family_of(model.steps[-1][1]) is FAMILIES[family]
    # The model's requirements pin its family's library: the API's image installs them.
    pinned = (root / MODEL_DIR / "requirements.txt").read_text(encoding="utf-8")
    for module in FAMILIES[family].libraries:
        assert any(f"{name}==" in pinned for name in distributions_of(module)), pinned
    assert set(requirements(model)) <= set(pinned.splitlines())
