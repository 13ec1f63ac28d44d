"""Slow tier: bake, install and run generated projects for real, as a new user would."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from browser import browser, visit
from conftest import git
from helpers import free_port, run, stages_run

pytestmark = pytest.mark.slow

# The project's own interpreter answers questions about its MLflow store.
MLFLOW_QUERY = r"""
import json, sys
from mlflow import MlflowClient
sys.path.insert(0, "src")
from {module}.config import load_params

settings = load_params().mlflow
client = MlflowClient(settings.tracking_uri)
experiment = client.get_experiment_by_name(settings.experiment_name)
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
name = settings.registered_model_name
versions = client.search_model_versions(f"name='{{name}}'")
run = runs[0]
models = client.search_logged_models([experiment.experiment_id])
newest = max(versions, key=lambda v: int(v.version)) if versions else None
print(json.dumps({{
    "tracking_uri": settings.tracking_uri,
    "runs": len(runs),
    "params": run.data.params,
    "metrics": run.data.metrics,
    "tags": run.data.tags,
    "logged_models": [m.name for m in models],
    "versions": [
        {{"version": v.version, "run_id": v.run_id, "tags": v.tags}} for v in versions
    ],
    "run_id": run.info.run_id,
    "run_files": [f.path for f in client.list_artifacts(run.info.run_id, "evaluation")],
    "model_files": [
        f.path for f in client.list_logged_model_artifacts(
            json.load(open("models/mlflow_run.json"))["model_id"]
        )
    ],
    "description": newest.description if newest else None,
    "experiments": sorted(
        r.data.tags["dvc_experiment"] for r in runs if "dvc_experiment" in r.data.tags
    ),
}}))
"""


def mlflow_state(project: Path, module: str) -> dict:
    done = run([".venv/bin/python", "-c", MLFLOW_QUERY.format(module=module)], cwd=project)
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_lineage(project: Path, state: dict, raw_file: str, commit: str) -> None:
    pointer = yaml.safe_load((project / "data" / "raw" / f"{raw_file}.dvc").read_text())
    data_md5 = pointer["outs"][0]["md5"]
    for tags in (state["tags"], state["versions"][0]["tags"]):
        assert tags["git_commit"] == commit
        assert tags["data_dvc_md5"] == data_md5
        assert tags["data_path"] == f"data/raw/{raw_file}"
    assert state["versions"][0]["run_id"] == state["run_id"]


def check_mlflow_ui(project: Path, registered_model: str) -> None:
    """`make mlflow-ui` serves the project's store on loopback; stopped after the check."""
    port = free_port()
    server = subprocess.Popen(
        ["make", "mlflow-ui", f"PORT={port}"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert server.poll() is None, "make mlflow-ui exited"
                assert time.monotonic() < deadline, "the MLflow UI did not answer in 120 s"
                time.sleep(1)
        url = f"{base}/api/2.0/mlflow/registered-models/search"
        with urllib.request.urlopen(url, timeout=10) as answer:
            names = [model["name"] for model in json.load(answer)["registered_models"]]
        assert names == [registered_model]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def setup_test_and_repro(bake, **answers: str) -> Path:
    project = bake(**answers)
    run(["make", "setup"], cwd=project)
    run(["make", "test-all"], cwd=project)
    run(["make", "lint"], cwd=project)
    done = run(["make", "repro"], cwd=project)
    assert stages_run(done.stdout) == ["prepare", "train", "evaluate"]
    # The tests, the pipeline and the tools wrote nothing git does not ignore but the
    # pipeline's own record (dvc.lock, metrics, plots) and the lock file of the environment.
    changed = {line[3:] for line in git(project, "status", "--porcelain").splitlines()}
    assert changed <= {
        "dvc.lock",
        "reports/metrics.json",
        "reports/plots/",
        "reports/model_card.md",
        "uv.lock",
        "data/processed/.gitignore",
        "models/.gitignore",
    }, changed
    return project


def test_default_project_end_to_end(bake, tools_on_path, tmp_path):
    project = setup_test_and_repro(bake)
    trained_at = git(project, "rev-parse", "HEAD").strip()

    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert 0.9 <= metrics["accuracy"] <= 1.0
    assert metrics["accuracy"] > metrics["baseline_accuracy"] + 0.3
    assert 0.9 <= metrics["roc_auc"] <= 1.0
    shown = json.loads(run([".venv/bin/dvc", "metrics", "show", "--json"], cwd=project).stdout)
    assert shown  # dvc reads the metrics file declared in dvc.yaml
    run([".venv/bin/dvc", "plots", "show", "-o", str(tmp_path / "plots")], cwd=project)
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "confusion" in html.lower() and "roc" in html.lower()

    git(project, "add", "-A")
    git(project, "commit", "-qm", "First pipeline run")
    state = mlflow_state(project, "my_ml_project")
    assert state["tracking_uri"].startswith("sqlite:///")
    assert state["runs"] == 1
    assert set(state["metrics"]) >= {"accuracy", "f1_macro"}
    assert state["params"]["model.name"] == "lightgbm"
    assert state["params"]["data.target"] == "species"
    assert len(state["versions"]) == 1 and state["logged_models"]
    check_lineage(project, state, "penguins.csv", trained_at)
    # The run holds the ONNX model, the importance and the card; the card describes the version.
    assert {"model.onnx", "onnx.json", "schema.json", "MLmodel"} <= set(state["model_files"])
    assert set(state["run_files"]) == {
        "evaluation/feature_importance.csv",
        "evaluation/model_card.md",
    }
    card = (project / "reports" / "model_card.md").read_text()
    assert state["description"] == card and card.startswith("# Model card: my-ml-project version 1")
    assert "importance" in html.lower()  # the SHAP plot beside the confusion matrix and ROC

    # Nothing changed: nothing runs.
    done = run([".venv/bin/dvc", "repro"], cwd=project)
    assert stages_run(done.stdout) == []
    assert git(project, "status", "--porcelain") == ""

    # A hyper-parameter changed: train and evaluate run again, prepare does not.
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["params"] == {}  # the family's defaults (modeling/estimators.py)
    first_key, new_value = "n_estimators", 301
    text = (project / "params.yaml").read_text()
    assert text.count("\n  params: {}\n") == 1
    changed = text.replace("\n  params: {}\n", f"\n  params: {{{first_key}: {new_value}}}\n")
    (project / "params.yaml").write_text(changed)
    done = run(["make", "repro"], cwd=project)
    assert stages_run(done.stdout) == ["train", "evaluate"]
    state = mlflow_state(project, "my_ml_project")
    assert state["runs"] == 2 and len(state["versions"]) == 2
    git(project, "commit", "-qam", "Tune the model")

    # Data and model travel through the DVC remote; a fresh clone restores both.
    run(["make", "push"], cwd=project)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    assert not (clone / "data" / "raw" / "penguins.csv").exists()
    run([str(project / ".venv" / "bin" / "dvc"), "pull"], cwd=clone)
    for path in ("data/raw/penguins.csv", "reports/metrics.json"):
        assert (clone / path).read_bytes() == (project / path).read_bytes()
    model_files = sorted(
        p.relative_to(project)
        for p in (project / "models").rglob("*")
        if p.is_file() and p.name != ".gitkeep"
    )
    assert model_files
    for relative in model_files:
        assert (clone / relative).read_bytes() == (project / relative).read_bytes()
    status = run([str(project / ".venv" / "bin" / "dvc"), "status"], cwd=clone)
    assert "up to date" in status.stdout

    check_outside_the_environment(project, first_key, new_value)
    check_sweep(project)
    check_mlflow_ui(project, "my-ml-project")
    check_monitoring_report(project)


def check_monitoring_report(project: Path) -> None:
    """`make drift-demo`'s drifted report, as a person sees it in Chromium: the verdict and what
    to do first on top, then one summary row per drifted feature, largest effect first, the KL
    divergence, the outlying rows, the two batches' history, the full check list folded; no
    console error. Its screenshot is the one in the docs."""
    run(["make", "drift-demo"], cwd=project)
    folder = project / "reports" / "monitoring"
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "retrain"
    drifted = [r for r in report["checks"] if r["check"] == "feature_drift" and r["failed"]]
    drifted.sort(key=lambda row: -row["effect"] / row["threshold"])
    with (
        browser() as chrome,
        visit(chrome, (folder / "report.html").as_uri(), "monitoring-report.png") as seen,
    ):
        page = seen.page
        assert seen.problems == []
        assert page.locator("#verdict").inner_text().startswith("Retrain")
        assert "make retrain CURRENT=" in page.locator("#next-step").inner_text()
        rows = page.locator("#drift-summary tr td:first-child").all_inner_texts()
        assert rows == [row["column"] for row in drifted]
        assert page.locator("#model-health tr.failed").count() == 1  # performance
        assert "Prediction divergence (KL)" in page.locator("#model-health").inner_text()
        outliers = next(r for r in report["checks"] if r["check"] == "outliers")
        assert outliers["failed"]  # the demo's broken rows, listed worst first
        assert page.locator("#outliers tr").count() == 1 + len(outliers["examples"])
        # the clean and the drifted batch, in the demo's history
        assert "Drift over time: the last 2 batches" in page.locator("h2").all_inner_texts()
        tested = [r for r in report["checks"] if r["check"] == "feature_drift"]
        assert page.locator("#history tr").count() == 1 + len(tested)
        assert page.locator("#all-checks").is_visible()
        assert not page.locator("#all-checks table").is_visible()  # folded
        page.locator("#all-checks summary").click()
        assert page.locator("#all-checks tr").count() == len(report["checks"]) + 1


def check_sweep(project: Path) -> None:
    """`make sweep JOBS=2` over the default grid (4 points): 4 experiments, 4 MLflow runs tagged
    with their names, a comparison of the swept params; no registered version until one is
    kept, then exactly one."""
    before = mlflow_state(project, "my_ml_project")
    done = run(["make", "sweep", "JOBS=2"], cwd=project)
    table = [line for line in done.stdout.splitlines() if line.startswith("| sweep-")]
    assert len(table) == 4, done.stdout[-3000:]
    header = next(line for line in done.stdout.splitlines() if line.startswith("| experiment"))
    assert header.split(" | ")[1:3] == [  # the lightgbm family's own space
        "model.params.learning_rate",
        "model.params.num_leaves",
    ]
    after = mlflow_state(project, "my_ml_project")
    assert after["runs"] == before["runs"] + 4
    names = sorted(line.split(" | ")[0].removeprefix("| ") for line in table)
    assert sorted(set(after["experiments"]) - set(before["experiments"])) == names
    assert len(after["versions"]) == len(before["versions"])  # experiments are not registered
    shown = run(["make", "sweep-show"], cwd=project).stdout
    assert (
        sorted(
            line.split(" | ")[0].removeprefix("| ")
            for line in shown.splitlines()
            if line.startswith("| sweep-")
        )
        == names
    )

    best = shown.split("best by accuracy: ")[1].split(".")[0]
    run([".venv/bin/dvc", "exp", "apply", best], cwd=project)
    run(["make", "register"], cwd=project)
    kept = mlflow_state(project, "my_ml_project")
    assert len(kept["versions"]) == len(before["versions"]) + 1
    newest = max(kept["versions"], key=lambda v: int(v["version"]))
    assert newest["tags"]["dvc_experiment"] == best
    assert kept["description"].startswith(
        f"# Model card: my-ml-project version {newest['version']}"
    )
    status = run([".venv/bin/dvc", "status"], cwd=project)
    assert "up to date" in status.stdout
    git(project, "checkout", "-q", "--", ".")
    run([".venv/bin/dvc", "checkout", "-q"], cwd=project)


def check_outside_the_environment(project: Path, key: str, value: object) -> None:
    """DVC started from a shell whose PATH has no project Python still runs the stages with
    the project's environment; a typo in params.yaml stops `make repro` in one line."""
    bare = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"], "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [".venv/bin/dvc", "exp", "run", "-S", f"++model.params.{key}={value + 1}"],
        cwd=project,
        capture_output=True,
        text=True,
        env=bare,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert stages_run(done.stdout) == ["train", "evaluate"]
    git(project, "checkout", "-q", "--", ".")

    params = project / "params.yaml"
    original = params.read_text(encoding="utf-8")

    params.write_text(original + "servng:\n  model_source: local\n", encoding="utf-8")
    done = subprocess.run(["make", "repro"], cwd=project, capture_output=True, text=True)
    params.write_text(original, encoding="utf-8")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("make:")]
    assert lines == [
        "params.yaml: unknown section servng (did you mean serving?); expected one of data, "
        "split, features, model, onnx, explain, sweep, mlflow, predict, automl, monitoring, serving"
    ]


def test_regression_project_with_pip_on_the_oldest_python(bake, tools_on_path):
    project = setup_test_and_repro(
        bake,
        task="regression",
        env_manager="pip",
        python_version="3.10",
        project_name="Fuel Economy",
        dvc_remote="none",
        dvc_remote_url="",
    )
    trained_at = git(project, "rev-parse", "HEAD").strip()
    assert (project / ".venv" / "bin" / "python3.10").exists()
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["rmse"] < 0.6 * metrics["baseline_rmse"]
    assert metrics["r2"] > 0.7
    state = mlflow_state(project, "fuel_economy")
    assert set(state["metrics"]) >= {"rmse", "r2"}
    assert len(state["versions"]) == 1
    check_lineage(project, state, "auto-mpg.csv", trained_at)
    runs = run(["make", "runs"], cwd=project).stdout
    assert "MLflow tracking store: sqlite:///" in runs and "version 1" in runs
    check_raw_records_with_an_id(project, "auto-mpg.csv", "Name", "Miles_per_Gallon")


# The API answers the raw CSV's own first rows (target dropped, missing values as null).
RAW_ROWS_QUERY = r"""
import json, sys
import pandas as pd
from fastapi.testclient import TestClient
from {module}.serving.app import create_app

raw = pd.read_csv("data/raw/{raw}").drop(columns=["{target}"]).head(10)
records = json.loads(raw.to_json(orient="records"))
with TestClient(create_app(".")) as client:
    answer = client.post("/predict", json={{"records": records}})
    explained = client.post("/explain", json={{"records": records[:2]}})
    ready = client.get("/ready").json()
print(json.dumps({{"status": answer.status_code, "body": answer.json(), "ready": ready,
                  "explain": explained.status_code, "names": raw["{id_column}"].tolist()}}))
"""


def check_raw_records_with_an_id(project: Path, raw: str, id_column: str, target: str) -> None:
    """A CSV with an ID-like column: the API takes its rows as they are and echoes the ID;
    `make predict` on the whole file writes one prediction per row with the ID."""
    module = project.name.replace("-", "_")
    script = RAW_ROWS_QUERY.format(module=module, raw=raw, target=target, id_column=id_column)
    done = run([".venv/bin/python", "-c", script], cwd=project)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer["body"]
    assert answer["ready"]["scorer"] == "onnxruntime"
    assert [row[id_column] for row in answer["body"]["ids"]] == answer["names"]
    assert len(answer["body"]["predictions"]) == 10 and answer["explain"] == 200

    run(["make", "predict", f"INPUT=data/raw/{raw}", "OUTPUT=build/predictions.csv"], cwd=project)
    with (project / "data" / "raw" / raw).open(newline="", encoding="utf-8") as stream:
        source = list(csv.DictReader(stream))
    with (project / "build" / "predictions.csv").open(newline="", encoding="utf-8") as stream:
        written = list(csv.DictReader(stream))
    assert len(written) == len(source)
    assert [row[id_column] for row in written] == [row[id_column] for row in source]
    assert all(row["error"] == "" and float(row["prediction"]) > 0 for row in written)
