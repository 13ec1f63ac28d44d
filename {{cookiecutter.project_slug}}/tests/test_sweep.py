"""Sweeps: the points of params.yaml `sweep:`, checked before anything runs; experiments log
runs but no registered version, and the one kept is registered once."""

from __future__ import annotations

import itertools
import json

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.config import SQLITE, SweepSection, load_params, read_params_file
from {{ cookiecutter.module_name }}.experiments.space import sweep_points, swept_keys
from {{ cookiecutter.module_name }}.experiments.sweep import as_cli_value
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES
from {{ cookiecutter.module_name }}.paths import RUN_FILE
from {{ cookiecutter.module_name }}.pipeline import prepare, train
from {{ cookiecutter.module_name }}.tracking.__main__ import register


def points(root, **sweep):
    settings = SweepSection.model_validate({**load_params(root).sweep.model_dump(), **sweep})
    return sweep_points(settings, read_params_file(root))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_an_empty_space_is_every_combination_of_the_familys_own(make_project, family):
    """sweep.space: {} sweeps the space in model.name's FAMILIES entry, for the task; every
    point builds (its keys are the estimator's own)."""
    root = make_project(model={"name": family, "params": {}})
    space = FAMILIES[family].search_space(load_params(root).data.task)
    found = points(root, space={}, runs=64)
    grid = itertools.product(*space.values())
    assert found == [dict(zip(space, values, strict=True)) for values in grid]
    assert len(found) >= 2


def test_a_space_in_params_yaml_replaces_the_familys(make_project):
    found = points(make_project(), space={"model.params.num_leaves": [7, 15, 31]})
    assert found == [{"model.params.num_leaves": leaves} for leaves in (7, 15, 31)]


def test_the_comparison_shows_the_keys_the_sweep_varied(make_project):
    params = load_params(make_project())
    family = FAMILIES[params.model.name].search_space(params.data.task)
    assert swept_keys(params) == list(family)  # sweep.space: {}
    chosen = params.model_copy(
        update={"sweep": params.sweep.model_copy(update={"space": {"split.seed": [1, 2]}})}
    )
    assert swept_keys(chosen) == ["split.seed"]


def test_random_draws_are_seeded_and_within_their_range(make_project):
    space = {
        "model.params.n_estimators": {"low": 50, "high": 400, "integer": True},
        "model.params.min_child_samples": [1, 2, 4],
    }
    root = make_project()
    first = points(root, method="random", runs=6, space=space)
    assert first == points(root, method="random", runs=6, space=space)  # the seed decides
    assert len(first) == 6
    for point in first:
        assert 50 <= point["model.params.n_estimators"] <= 400
        assert isinstance(point["model.params.n_estimators"], int)
        assert point["model.params.min_child_samples"] in (1, 2, 4)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"space": {"mlflow.model_alias": ["a", "b"]}}, "is not read by the pipeline"),
        ({"space": {"model.params.n_trees": [1, 2]}}, "model.params.n_trees is not a parameter"),
        ({"space": {"split.test_size": [0.2, 2.0]}}, "split.test_size"),
        ({"runs": 2}, "has 4 points, more than sweep.runs (2)"),
        ({"space": {"model.params.max_depth": {"low": 2, "high": 9}}}, "grid search needs a list"),
    ],
)
def test_a_space_that_cannot_run_stops_with_one_line(make_project, sweep, message):
    with pytest.raises(SystemExit) as stopped:
        points(make_project(), **sweep)
    assert message in str(stopped.value) and "\n" not in str(stopped.value)


def test_values_reach_dvc_as_yaml():
    assert [as_cli_value(v) for v in (300, 0.5, None, True, "gini")] == [
        "300",
        "0.5",
        "null",
        "true",
        "gini",
    ]


def test_a_queued_experiment_logs_to_the_project_store(make_project, monkeypatch, tmp_path):
    """DVC runs queued experiments in a copy of the project: DVC_ROOT names the project."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_project()
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "the-project"))
    uri = load_params(root).mlflow.tracking_uri
    assert uri == SQLITE + (tmp_path / "the-project" / "mlflow.db").as_posix()


@pytest.mark.slow
def test_an_experiment_is_not_registered_until_it_is_kept(make_project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_project()
    prepare.run(root)
    settings = load_params(root).mlflow
    monkeypatch.setenv("DVC_EXP_NAME", "sweep-20260101-000000-1")
    logged = train.run(root)
    assert logged["registered_version"] is None
    client = MlflowClient(settings.tracking_uri)
    assert client.search_model_versions(f"name = '{settings.registered_model_name}'") == []
    tags = client.get_run(logged["run_id"]).data.tags
    assert tags["dvc_experiment"] == "sweep-20260101-000000-1"

    monkeypatch.delenv("DVC_EXP_NAME")
    kept = register(root, settings)  # after `dvc exp apply`: the model in models/
    assert kept["registered_version"] == "1"
    assert json.loads((root / RUN_FILE).read_text())["registered_version"] == "1"
    version = client.get_model_version(settings.registered_model_name, "1")
    assert version.run_id == logged["run_id"]
    assert version.tags["dvc_experiment"] == "sweep-20260101-000000-1"
    assert register(root, settings)["registered_version"] == "1"  # once only
    assert len(client.search_model_versions(f"name = '{settings.registered_model_name}'")) == 1
