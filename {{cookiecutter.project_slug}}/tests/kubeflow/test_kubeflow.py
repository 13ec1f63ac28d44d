"""Kubeflow Pipelines: the compiled definition runs the project's steps in its image, the local
run (kfp.local) reaches the metrics `make repro` reaches, and an unreachable endpoint or the
embedded store stop a cluster run with one line."""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml
from kfp import components

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.kubeflow import __main__ as kubeflow_main
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


def test_the_local_run_reaches_the_metrics_of_the_dvc_pipeline(
    make_project, pipeline_run, monkeypatch, capsys
):
    root = make_project()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    kubeflow_main.main(["run", "--root", str(root)])
    assert "pipeline ran here (kfp.local)" in capsys.readouterr().out
    metrics = json.loads((root / kubeflow_main.LOCAL_METRICS).read_text(encoding="utf-8"))
    assert metrics == pipeline_run["metrics"]


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
    assert time.monotonic() - start < kubeflow_main.CONNECT_SECONDS + 5
