"""params.yaml: the project's own loads, and mistakes stop with one line naming the key."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import PROJECT_ROOT
from {{ cookiecutter.module_name }}.config import TASKS, load_params
from {{ cookiecutter.module_name }}.estimators import build_estimator


def test_the_project_params_load_and_point_at_the_sample_data():
    params = load_params(PROJECT_ROOT)
    data = params["data"]
    assert data["task"] in TASKS
    columns = pd.read_csv(PROJECT_ROOT / data["raw_path"], nrows=0).columns
    assert data["target"] in columns
    assert 0 < params["split"]["test_size"] < 1
    assert params["mlflow"]["experiment_name"]


@pytest.mark.parametrize(
    ("section", "change", "message"),
    [
        ("split", {"test_sise": 0.2}, r"unknown key split\.test_sise"),
        ("split", {"test_size": 1.5}, r"split\.test_size must be a number between 0 and 1"),
        ("split", {"stratify": "yes"}, r"split\.stratify must be true or false"),
        ("data", {"task": "clustering"}, r"data\.task is 'clustering'"),
        ("data", {"numeric_features": "price"}, r"data\.numeric_features must be a list"),
        ("features", {"min_category_frequency": 0}, r"features\.min_category_frequency"),
    ],
)
def test_a_bad_value_is_reported_with_its_key(make_project, section, change, message):
    root = make_project(**{section: change})
    with pytest.raises(SystemExit, match=message):
        load_params(root)


def test_a_missing_params_file_says_where_to_run(tmp_path):
    with pytest.raises(SystemExit, match=r"params\.yaml not found: run from the project root"):
        load_params(tmp_path)


def test_an_unknown_model_parameter_is_named_with_the_valid_ones():
    with pytest.raises(SystemExit, match=r"model\.params\.n_trees is not a .*n_estimators"):
        build_estimator("random_forest", {"n_trees": 10}, "classification", seed=0)
    with pytest.raises(SystemExit, match=r"model\.name 'xgboost' is unknown"):
        build_estimator("xgboost", {}, "regression", seed=0)


def test_the_seed_reaches_the_estimator_unless_params_set_it():
    assert build_estimator("random_forest", {}, "regression", seed=7).random_state == 7
    chosen = build_estimator("random_forest", {"random_state": 1}, "regression", seed=7)
    assert chosen.random_state == 1
