"""The train stage: it beats the dummy baseline on the bundled data, and what it stores (model
directory, MLflow run, registered version, lineage) is complete and loads anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.schema import Schema
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, build_estimator
from {{ cookiecutter.module_name }}.modeling.outliers import OutlierDetector
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, SCHEMA_FILE, TRAIN_DATA
from {{ cookiecutter.module_name }}.pipeline import prepare, train
from {{ cookiecutter.module_name }}.tracking.__main__ import main as tracking_main
from {{ cookiecutter.module_name }}.tracking.lineage import file_md5, lineage_tags

from conftest import project_params

MODULE = "{{ cookiecutter.module_name }}"
# Run in a fresh interpreter that cannot see this source tree: the model must bring its code.
LOAD_ELSEWHERE = """
import json, os, sys
model_dir, module = sys.argv[1:]
sys.path = [path for path in sys.path if not os.path.isdir(os.path.join(path or ".", module))]
import mlflow.sklearn, pandas
model = mlflow.sklearn.load_model(model_dir)
rows = pandas.read_json(sys.stdin, orient="split")
predictions = [str(value) for value in model.predict(rows)]
package = sys.modules[module + ".modeling.features"].__file__
print(json.dumps({"predictions": predictions, "package": package}))
"""


def test_the_model_clearly_beats_the_baseline(make_project):
    root = make_project()  # this project's params.yaml and data (the bundled sample at first)
    prepare.run(root)
    params, schema = load_params(root), Schema.load(root / SCHEMA_FILE)
    estimator = build_estimator(
        params.model.name, params.model.params, schema.task, params.split.seed
    )
    scores = train.compare_with_baseline(
        pd.read_parquet(root / TRAIN_DATA), schema, params, estimator
    )
    if schema.task == "classification":
        assert scores["val_accuracy"] > scores["val_baseline_accuracy"] + 0.1
    else:
        assert scores["val_rmse"] < 0.9 * scores["val_baseline_rmse"]


def test_a_value_the_estimator_refuses_is_one_line(make_project):
    root = make_project(model={"name": "random_forest", "params": {"n_estimators": -3}})
    prepare.run(root)
    with pytest.raises(SystemExit, match=r"model\.params: The 'n_estimators' parameter"):
        train.run(root)


@pytest.mark.slow
def test_the_alias_stays_on_a_better_model_unless_the_data_changed(make_project, monkeypatch):
    """Validation scores compare only on the same data: a worse model on the same data leaves
    the alias where it is; a model trained on new data takes it."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the scratch project's own store
    good = {"name": "random_forest", "params": {"n_estimators": 30}}
    worse = {"name": "random_forest", "params": {"n_estimators": 1, "max_depth": 1}}
    root = make_project(model=good)
    prepare.run(root)
    assert train.run(root)["promoted"]
    make_project(model=worse)
    assert not train.run(root)["promoted"]  # same data, a worse validation score

    raw = pd.read_csv(root / project_params()["data"]["raw_path"])
    make_project(raw.sample(frac=0.8, random_state=1), model=worse)  # new raw data
    prepare.run(root)
    logged = train.run(root)
    assert logged["promoted"]
    client = MlflowClient(load_params(root).mlflow.tracking_uri)
    name = load_params(root).mlflow.registered_model_name
    champion = client.get_model_version_by_alias(name, load_params(root).mlflow.model_alias)
    assert str(champion.version) == logged["registered_version"] == "3"


@pytest.mark.slow
def test_a_model_that_loses_to_the_baseline_is_registered_but_not_promoted(
    make_project, monkeypatch, capsys
):
    """Features of pure noise: the model cannot beat the dummy baseline. It is logged and
    registered all the same, the alias is not moved, and `tracking promote` moves it."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(0)
    rows = 400
    noise = pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows)})
    task = project_params()["data"]["task"]
    if task == "classification":
        noise["label"] = np.where(rng.random(rows) < 0.8, "common", "rare")
    else:
        noise["label"] = rng.normal(size=rows)
    data = {"raw_path": "data/raw/noise.csv", "target": "label", "task": task}
    root = make_project(noise, data=data)
    prepare.run(root)
    logged = train.run(root)
    assert logged["registered_version"] == "1" and not logged["promoted"]
    assert "does not beat the baseline's" in capsys.readouterr().out
    settings = load_params(root).mlflow
    client = MlflowClient(settings.tracking_uri)
    assert client.get_registered_model(settings.registered_model_name).aliases == {}

    tracking_main(["--root", str(root), "promote", "1"])
    name, alias = settings.registered_model_name, settings.model_alias
    assert str(client.get_model_version_by_alias(name, alias).version) == "1"
    with pytest.raises(SystemExit, match="has no version '7'"):
        tracking_main(["--root", str(root), "promote", "7"])


def test_the_run_and_the_registered_version_carry_lineage(pipeline_run):
    root, logged = pipeline_run["root"], pipeline_run["logged"]
    client = MlflowClient(load_params(root).mlflow.tracking_uri)
    run = client.get_run(logged["run_id"])
    version = client.get_model_version(logged["registered_model"], logged["registered_version"])
    assert version.run_id == run.info.run_id
    raw_path = project_params()["data"]["raw_path"]
    expected = {
        "data_path": raw_path,
        "data_md5": file_md5(root / raw_path),
        "data_dvc_md5": pipeline_run["dvc_md5"],
    }
    if pipeline_run["commit"]:
        expected |= {"git_commit": pipeline_run["commit"], "git_dirty": "false"}
    for tags in (run.data.tags, version.tags):
        assert {key: tags.get(key) for key in expected} == expected
    assert run.data.params["model.name"] == project_params()["model"]["name"]
    assert any(name.startswith("val_") for name in run.data.metrics)
    assert set(pipeline_run["metrics"]) <= set(run.data.metrics)  # evaluate adds test scores
    assert client.get_experiment(run.info.experiment_id).artifact_location.startswith(
        (root / "mlruns").resolve().as_uri()
    )


def test_an_image_without_git_records_the_commit_it_was_built_from(tmp_path, monkeypatch):
    """The Kubeflow pipeline's image has no .git: GIT_COMMIT, set when it was built, stands in."""
    monkeypatch.setenv("GIT_COMMIT", "0123abc")
    tags = lineage_tags(tmp_path, "data/raw/missing.csv")
    assert tags["git_commit"] == "0123abc" and "git_dirty" not in tags


@pytest.mark.slow
def test_the_model_directory_loads_without_this_source_tree(pipeline_run, tmp_path):
    """Serving elsewhere: the package ships inside the model (`code/`), requirements are pinned."""
    root = pipeline_run["root"]
    model_dir = (root / MODEL_DIR).resolve()
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8").split()
    assert [line.split("==")[0] for line in requirements] == [
        "mlflow",
        "scikit-learn",
        "pandas",
        "numpy",
        "onnxruntime",
        "shap",
        "pydantic-settings",
        *FAMILIES[project_params()["model"]["name"]].libraries,  # the default: lightgbm
    ]
    params = project_params()["data"]
    rows = pd.read_csv(root / params["raw_path"]).drop(columns=params["target"]).head(5)
    done = subprocess.run(
        [sys.executable, "-c", LOAD_ELSEWHERE, str(model_dir), MODULE],
        input=rows.to_json(orient="split", index=False),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(answer["predictions"]) == 5
    assert answer["package"].startswith(str(model_dir / "code"))


def test_the_model_directory_has_the_mode_of_a_new_folder(pipeline_run, tmp_path):
    """Not the private mode of the download's temporary folder: an image's unprivileged user
    (or a teammate on a shared host) must be able to read the model."""
    model_dir = pipeline_run["root"] / MODEL_DIR
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert model_dir.stat().st_mode & 0o777 == fresh.stat().st_mode & 0o777


def test_the_model_holds_its_schema_and_a_verified_onnx_export(pipeline_run):
    """What predictions need travels with the model: in models/model and in MLflow alike."""
    root, logged = pipeline_run["root"], pipeline_run["logged"]
    model_dir = root / MODEL_DIR
    assert Schema.load(model_dir / "schema.json") == Schema.load(root / SCHEMA_FILE)
    check = json.loads((model_dir / "onnx.json").read_text(encoding="utf-8"))
    assert check["verified"] and check["reason"] == ""
    assert check["max_difference"] <= check["tolerance"] and check["rows"] > 2
    client = MlflowClient(load_params(root).mlflow.tracking_uri)
    logged_files = {item.path for item in client.list_logged_model_artifacts(logged["model_id"])}
    assert {"schema.json", "model.onnx", "onnx.json", "outliers.joblib", "MLmodel"} <= logged_files
    detector = OutlierDetector.from_bytes((model_dir / "outliers.joblib").read_bytes())
    train = pd.read_parquet(root / TRAIN_DATA)
    assert detector.columns == [
        c for c, kind in Schema.load(root / SCHEMA_FILE).features.items() if kind == "numeric"
    ]
    assert detector.score(train).flagged.mean() <= 0.02  # the training rows are its ordinary
    assert client.get_run(logged["run_id"]).data.tags["onnx_verified"] == "true"
