"""`make automl`: every family's space builds its estimator, the search starts from the model
you have, refuses what it cannot do in one line, writes its winner into params.yaml keeping
the file's comments, nests its trials' runs under one parent, continues a saved study and
keeps its trials through Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.automl import search as search_module
from {{ cookiecutter.module_name }}.automl.__main__ import main
from {{ cookiecutter.module_name }}.automl.leaderboard import LEADERBOARD_FILE
from {{ cookiecutter.module_name }}.automl.search import STUDY_FILE, metric_of
from {{ cookiecutter.module_name }}.automl.settings import automl_settings
from {{ cookiecutter.module_name }}.automl.space import (
    FAMILY,
    candidate_of,
    check_families,
    starting_points,
    suggest,
)
from {{ cookiecutter.module_name }}.automl.winner import write_winner
from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, NUMERIC, TEXT, Schema
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, TASKS, build_estimator
from {{ cookiecutter.module_name }}.modeling.metrics import TASK_METRICS, task_scores
from {{ cookiecutter.module_name }}.pipeline import prepare

from conftest import PROJECT_ROOT


def schema_with(*kinds: str) -> Schema:
    features = {f"{kind}_column": kind for kind in kinds}
    return Schema(target="y", task="classification", features=features, date_formats={}, dropped={})


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_point_of_a_familys_space_builds_its_estimator(family, task):
    """Sampled points of the family's `tuning` ranges are parameters its estimator takes, and
    the preprocessing choices appear only for the columns they concern."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        candidate = suggest(trial, [family], task, schema_with(NUMERIC, TEXT))
        assert candidate.family == family
        assert set(candidate.model_params) == set(FAMILIES[family].tuning_space(task))
        assert set(candidate.preprocessing) == {"text.max_features", "text.word_ngrams"}
        build_estimator(family, candidate.model_params, task, seed=0)  # SystemExit if not
        assert candidate_of(trial.params) == candidate
        study.tell(trial, 0.0)


def test_the_search_starts_from_the_model_you_have_then_every_familys_defaults(make_project):
    root = make_project(model={"name": "xgboost", "params": {"max_depth": 4}})
    params = load_params(root)
    points = starting_points(list(FAMILIES), params, schema_with(CATEGORICAL))
    assert [point[FAMILY] for point in points] == [
        "xgboost",
        *(name for name in FAMILIES if name != "xgboost"),
    ]
    assert points[0]["xgboost.max_depth"] == 4
    assert points[0]["features.min_category_frequency"] == 5
    lightgbm = next(point for point in points if point[FAMILY] == "lightgbm")
    for key, value in FAMILIES["lightgbm"].params(params.data.task).items():
        if key in FAMILIES["lightgbm"].tuning:
            assert lightgbm[f"lightgbm.{key}"] == value


def test_an_unknown_family_or_another_tasks_metric_is_refused_in_one_line(make_project):
    with pytest.raises(SystemExit, match=r"automl.families: 'catboost' is not a model family"):
        check_families(["lightgbm", "catboost"])
    assert check_families([]) == list(FAMILIES)
    settings = automl_settings(load_params(make_project()))
    wrong = "rmse" if settings.metric in ("accuracy", "f1_macro") else "accuracy"
    other_task = "regression" if wrong == "rmse" else "classification"
    task = next(name for name in TASKS if name != other_task)
    with pytest.raises(SystemExit, match=rf"automl.metric '{wrong}' is no {task} score"):
        metric_of(settings.model_copy(update={"metric": wrong}), task)
    for task, example in (("classification", ["a", "b"]), ("regression", [0.0, 1.0])):
        assert tuple(task_scores(task, example, example)) == TASK_METRICS[task]


def test_the_winner_is_written_into_params_yaml_keeping_its_comments(tmp_path):
    before = (PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8")
    assert "\n  params: {}\n" in before
    # a hand-tuned value, in flow style with a comment: replaced, the blank line after it kept
    before = before.replace("\n  params: {}\n", "\n  params: {max_iter: 50}  # by hand\n")
    (tmp_path / "params.yaml").write_text(before, encoding="utf-8")
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    first = candidate_of({FAMILY: "linear", "linear.C": 2.5, "features.min_category_frequency": 3})
    changes = write_winner(tmp_path, first)
    assert changes["model.name"][1] == "linear"
    params = load_params(tmp_path)
    assert (params.model.name, params.features.min_category_frequency) == ("linear", 3)
    assert params.model.params == {"C": 2.5}
    after = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert "\n\nonnx:" in after  # the blank line before the next section
    # another winner replaces the whole model.params, and writing it twice changes nothing
    second = candidate_of({FAMILY: "lightgbm", "lightgbm.num_leaves": 15})
    assert set(write_winner(tmp_path, second)) == {"model.name", "model.params"}
    assert write_winner(tmp_path, second) == {}
    params = load_params(tmp_path)
    assert (params.model.name, params.model.params) == ("lightgbm", {"num_leaves": 15})
    assert "\n\nonnx:" in (tmp_path / "params.yaml").read_text(encoding="utf-8")


def finished_trials(root, name) -> list:
    storage = search_module.storage_of(root, automl_settings(load_params(root)))
    study = optuna.load_study(study_name=name, storage=storage)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


@pytest.fixture
def prepared(make_project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_project()
    prepare.run(root)
    return root


def test_a_budget_too_small_for_one_trial_is_refused(prepared, monkeypatch, capsys):
    """Its first fold, times the folds, takes longer than the budget: one line, nothing written."""
    fit = search_module.fit
    pause = 1.2 / automl_settings(load_params(prepared)).folds  # all folds: over a 1 s budget

    def slow_fit(*args, **kwargs):
        time.sleep(pause)
        return fit(*args, **kwargs)

    monkeypatch.setattr(search_module, "fit", slow_fit)
    before = (prepared / "params.yaml").read_text(encoding="utf-8")
    assert main(["--budget", "1", "--root", str(prepared)]) == 2
    assert "too small for one trial" in capsys.readouterr().err
    assert (prepared / "params.yaml").read_text(encoding="utf-8") == before


@pytest.mark.slow
def test_a_short_search_writes_params_nests_its_runs_and_continues(prepared):
    params = load_params(prepared)
    assert main(["--trials", "6", "--root", str(prepared)]) == 0
    chosen = load_params(prepared)  # valid, or SystemExit
    assert chosen.model.name in FAMILIES
    assert len(finished_trials(prepared, params.mlflow.experiment_name)) == 6
    leaderboard = (prepared / LEADERBOARD_FILE).read_text(encoding="utf-8")
    assert "| 1 |" in leaderboard

    client = MlflowClient(params.mlflow.tracking_uri)
    experiment = client.get_experiment_by_name(params.mlflow.experiment_name)
    parents = client.search_runs([experiment.experiment_id], "tags.automl = 'true'")
    assert len(parents) == 1
    parent = parents[0].info.run_id

    def children() -> list:
        found = client.search_runs(
            [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent}'"
        )
        return found

    assert len(children()) == 6
    metric = f"cv_{automl_settings(params).metric}"
    assert all(metric in run.data.metrics for run in children())
    assert client.search_registered_models() == []  # a trial registers nothing

    # again: the saved study goes on, under the same parent run
    assert main(["--trials", "2", "--root", str(prepared)]) == 0
    assert len(finished_trials(prepared, params.mlflow.experiment_name)) == 8
    assert len(children()) == 8
    assert (
        parent
        == optuna.load_study(
            study_name=params.mlflow.experiment_name,
            storage=search_module.storage_of(prepared, automl_settings(params)),
        ).user_attrs[search_module.PARENT_ATTR]
    )


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_trials_and_the_study_goes_on(prepared):
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    command = [sys.executable, "-m", "{{ cookiecutter.module_name }}.automl", "--budget", "600"]
    process = subprocess.Popen(
        [*command, "--root", str(prepared)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # as from a terminal, even when the test process ignores SIGINT (a pytest-xdist worker)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        # a trial's line comes before it is stored: the third line means two are
        if sum(line.startswith("trial ") for line in seen) >= 3:
            break
    process.send_signal(signal.SIGINT)
    output = "".join(seen) + process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "interrupted" in output
    name = load_params(prepared).mlflow.experiment_name
    kept = finished_trials(prepared, name)
    assert len(kept) >= 2
    assert load_params(prepared).model.name in FAMILIES  # the best so far, written
    assert (prepared / STUDY_FILE).is_file()
    assert main(["--trials", "1", "--root", str(prepared)]) == 0
    assert len(finished_trials(prepared, name)) == len(kept) + 1


@pytest.mark.slow
def test_two_processes_share_a_study_in_a_database(prepared, tmp_path):
    """JOBS=2 with automl.storage a database URL (sqlite here; PostgreSQL across machines)."""
    params_file = prepared / "params.yaml"
    written = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    written["automl"]["storage"] = f"sqlite:///{(tmp_path / 'studies.db').as_posix()}"
    params_file.write_text(yaml.safe_dump(written, sort_keys=False), encoding="utf-8")
    assert main(["--jobs", "2", "--trials", "6", "--root", str(prepared)]) == 0
    name = load_params(prepared).mlflow.experiment_name
    assert len(finished_trials(prepared, name)) >= 6
    assert not (prepared / STUDY_FILE).exists()  # the database holds it
