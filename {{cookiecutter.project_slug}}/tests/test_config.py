"""params.yaml: the project's own loads, and mistakes stop with one line naming the key."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, ClassVar, Literal

import pandas as pd
import pytest
import yaml
from pydantic import Field

from {{ cookiecutter.module_name }} import has_capability
from {{ cookiecutter.module_name }}.config import (
    SQLITE,
    TASKS,
    MlflowSection,
    Section,
    environment_overrides,
    load_params,
    section,
)
from {{ cookiecutter.module_name }}.modeling.estimators import build_estimator

from conftest import PROJECT_ROOT, project_params


def test_the_project_params_load_and_point_at_the_sample_data():
    params = load_params(PROJECT_ROOT)
    assert params.data.task in TASKS
    columns = pd.read_csv(PROJECT_ROOT / params.data.raw_path, nrows=0).columns
    assert params.data.target in columns
    assert 0 < params.split.test_size < 1
    assert params.mlflow.experiment_name
    # Every section of the file is validated, the optional capabilities' included.
    assert set(type(params).model_fields) == set(project_params())


@pytest.mark.parametrize(
    ("section", "change", "message"),
    [
        (
            "split",
            {"test_sise": 0.2},
            r"unknown key split\.test_sise \(did you mean test_size\?\); expected one of test_size",
        ),
        ("split", {"test_size": 1.5}, r"split\.test_size: input should be less than 1, got 1\.5"),
        ("split", {"stratify": "yes"}, r"split\.stratify: input should be a valid boolean"),
        ("split", {"seed": "42"}, r"split\.seed: input should be a valid integer, got '42'"),
        ("split", {"train_rows": 0}, r"split\.train_rows: input should be greater than 0, got 0"),
        ("data", {"task": "clustering"}, r"data\.task: input should be 'classification' or"),
        ("data", {"numeric_features": "price"}, r"data\.numeric_features: input should be a"),
        ("features", {"min_category_frequency": 0}, r"features\.min_category_frequency: must be"),
        (
            "model",
            {"parms": {}},
            r"unknown key model\.parms \(did you mean params\?\); expected one of name, params",
        ),
        ("mlflow", {"experiment_name": ""}, r"mlflow\.experiment_name: string should have"),
    ],
)
def test_a_bad_value_is_reported_with_its_key(make_project, section, change, message):
    root = make_project(**{section: change})
    with pytest.raises(SystemExit, match=f"^params.yaml: {message}"):
        load_params(root)


def write_params(root, params: dict) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def test_an_unknown_section_is_refused_naming_the_sections(tmp_path):
    write_params(tmp_path, {**project_params(), "servng": {"model_source": "local"}})
    hint = r" \(did you mean serving\?\)" if has_capability("serving") else ""
    with pytest.raises(SystemExit, match=f"unknown section servng{hint}; expected one of data"):
        load_params(tmp_path)


def test_a_missing_key_and_a_missing_section_are_named(tmp_path):
    params = project_params()
    seed = params["split"].pop("seed")
    write_params(tmp_path, params)
    with pytest.raises(SystemExit, match=r"missing key split\.seed"):
        load_params(tmp_path)
    params["split"]["seed"] = seed
    del params["features"]
    write_params(tmp_path, params)
    with pytest.raises(SystemExit, match=r"missing section features"):
        load_params(tmp_path)


def test_a_number_is_a_valid_column_name(make_project):
    root = make_project(data={"target": 2020, "drop_columns": [1999]})
    data = load_params(root).data
    assert (data.target, data.drop_columns) == ("2020", ["1999"])


def test_the_environment_overrides_the_tracking_store_and_alias(make_project, monkeypatch):
    root = make_project(mlflow={"tracking_uri": None})
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MODEL_ALIAS", raising=False)
    embedded = load_params(root).mlflow
    assert embedded.tracking_uri == SQLITE + (root.resolve() / "mlflow.db").as_posix()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    monkeypatch.setenv("MODEL_ALIAS", "challenger")
    overridden = load_params(root).mlflow
    assert overridden.tracking_uri == "http://tracking.example:5000"
    assert overridden.model_alias == "challenger"


class Knobs(Section):
    ENV: ClassVar[dict[str, str]] = {"rows": "KNOB_ROWS", "fast": "KNOB_FAST", "mode": "KNOB_MODE"}
    rows: Annotated[int, Field(gt=0)]
    fast: bool
    mode: Literal["a", "b"]


def test_an_environment_override_is_converted_to_the_keys_type(monkeypatch):
    assert environment_overrides("knobs", Knobs) == {}
    monkeypatch.setenv("KNOB_ROWS", "8")
    monkeypatch.setenv("KNOB_FAST", "true")
    monkeypatch.setenv("KNOB_MODE", "")  # empty: not set
    assert environment_overrides("knobs", Knobs) == {"rows": 8, "fast": True}
    monkeypatch.setenv("KNOB_MODE", "c")
    with pytest.raises(SystemExit, match=r"^params.yaml: knobs.mode: .*'c' .*KNOB_MODE\)$"):
        environment_overrides("knobs", Knobs)


def test_a_section_is_found_by_its_type():
    params = load_params(PROJECT_ROOT)
    assert section(params, MlflowSection) is params.mlflow
    with pytest.raises(LookupError, match="Knobs"):
        section(params, Knobs)


def test_a_missing_params_file_says_where_to_run(tmp_path):
    with pytest.raises(SystemExit, match=r"params\.yaml not found: run from the project root"):
        load_params(tmp_path)


@pytest.mark.slow
def test_a_stage_stops_with_one_line_and_no_traceback(make_project):
    root = make_project(split={"test_sise": 0.2})
    done = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.module_name }}.pipeline.prepare"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "params.yaml: unknown key split.test_sise (did you mean test_size?); expected one of "
        "test_size, validation_size, seed, stratify, train_rows"
    ]


def test_an_unknown_model_parameter_is_named_with_the_valid_ones():
    with pytest.raises(SystemExit, match=r"model\.params\.n_trees is not a .*n_estimators"):
        build_estimator("random_forest", {"n_trees": 10}, "classification", seed=0)
    with pytest.raises(SystemExit, match=r"model\.name 'catboost' is unknown"):
        build_estimator("catboost", {}, "regression", seed=0)


def test_the_seed_reaches_the_estimator_unless_params_set_it():
    assert build_estimator("random_forest", {}, "regression", seed=7).random_state == 7
    chosen = build_estimator("random_forest", {"random_state": 1}, "regression", seed=7)
    assert chosen.random_state == 1
