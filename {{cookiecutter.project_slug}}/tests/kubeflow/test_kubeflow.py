"""Kubeflow Pipelines: the compiled definition runs the project's steps in its image; retraining
on it (`make retrain RETRAIN_ON=kfp`, here with kfp.local) reaches the metrics `make repro`
reaches; a submitted run is followed to its end; an unreachable endpoint or the embedded store
stop a cluster run with one line."""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml
from kfp import components
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.ci import retrain
from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.kubeflow import __main__ as kubeflow_main
from {{ cookiecutter.module_name }}.kubeflow import launch
from {{ cookiecutter.module_name }}.kubeflow.pipeline import PIPELINE_FILE, compile_pipeline


def test_the_compiled_pipeline_runs_the_three_steps_in_the_project_image(make_project):
    root = make_project(kubeflow={"image": "registry.example/team/project:1.2"})
    params = load_params(root)
    path = compile_pipeline(params, root)
    assert path == root / PIPELINE_FILE
    components.load_component_from_file(str(path))  # KFP reads it back as a pipeline
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    executors = spec["deploymentSpec"]["executors"]
    assert {executor["container"]["image"] for executor in executors.values()} == {
        "registry.example/team/project:1.2"
    }
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"prepare", "train", "evaluate"}
    assert tasks["train"]["dependentTasks"] == ["prepare"]
    assert tasks["evaluate"]["dependentTasks"] == ["train"]
    defaults = {
        name: value["defaultValue"]
        for name, value in spec["root"]["inputDefinitions"]["parameters"].items()
    }
    # a cluster's steps get the project folder of the image and no local file store
    assert defaults == {
        "project": params.kubeflow.project_dir,
        "package": "{{ cookiecutter.module_name }}",
        "tracking_uri": "",
    }


@pytest.mark.slow
def test_retraining_on_kfp_reaches_the_metrics_of_the_dvc_pipeline(
    make_project, pipeline_run, monkeypatch, capsys, tmp_path
):
    """`make retrain RETRAIN_ON=kfp`: the pipeline runs (here: kfp.local), registers a version."""
    root = make_project()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(root)
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert retrain.main(["run", "--force", "--no-commit", "--on", "kfp"]) == 0
    printed = capsys.readouterr().out
    assert "retrain: pipeline ran here (kfp.local)" in printed
    metrics = json.loads((root / launch.LOCAL_METRICS).read_text(encoding="utf-8"))
    assert metrics == pipeline_run["metrics"]
    assert outputs.read_text(encoding="utf-8") == "retrained=false\nretrained_on=kfp\n"
    params = load_params(root)
    client = MlflowClient(tracking_uri=params.mlflow.tracking_uri)
    version = client.get_model_version_by_alias(
        params.mlflow.registered_model_name, params.mlflow.model_alias
    )
    assert str(version.version) == "1"  # the pipeline's train step registered it


class FinishedRun:
    def __init__(self, state: str | None):
        self.state = state


class Client:
    """What wait_for asks of kfp.Client: a run that ends in `state`, or never (None)."""

    def __init__(self, state: str | None):
        self.state = state

    def wait_for_run_completion(self, run_id: str, timeout: int) -> FinishedRun:
        if self.state is None:
            raise TimeoutError("Run timeout")
        return FinishedRun(self.state)


def test_a_submitted_run_is_followed_to_its_end():
    assert launch.wait_for(Client("SUCCEEDED"), "r1", 1) == "SUCCEEDED"
    assert launch.wait_for(Client("succeeded"), "r1", 1) == "SUCCEEDED"
    with pytest.raises(SystemExit, match=r"^Kubeflow run r1 ended FAILED: see its steps' logs"):
        launch.wait_for(Client("FAILED"), "r1", 1)
    with pytest.raises(SystemExit, match=r"^Kubeflow run r1 still running after 0.5 min"):
        launch.wait_for(Client(None), "r1", 0.5)


def test_a_cluster_run_needs_a_tracking_server(make_project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_project(kubeflow={"host": "http://127.0.0.1:1"})
    with pytest.raises(SystemExit, match="cannot write to the embedded MLflow store"):
        kubeflow_main.main(["run", "--root", str(root)])


def test_an_unreachable_endpoint_stops_in_seconds_with_one_line(make_project, monkeypatch):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{unused.getsockname()[1]}"
    root = make_project(mlflow={"tracking_uri": "http://mlflow.example:5000"})
    monkeypatch.setenv("KFP_HOST", host)
    start = time.monotonic()
    with pytest.raises(SystemExit, match=f"Kubeflow Pipelines at {host} does not answer"):
        kubeflow_main.main(["run", "--root", str(root)])
    assert time.monotonic() - start < launch.CONNECT_SECONDS + 5
