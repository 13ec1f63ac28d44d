"""Credentials in the environment (cloud storage, tracking server, API token) reach no output:
no log line, report, MLflow param or tag, model file or anything else the pipeline writes."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train

# Fake values that cannot occur by chance in any output. (MLFLOW_TRACKING_USERNAME is no secret:
# MLflow records it as the run's author, the `mlflow.user` tag, on purpose.)
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKESENTINEL7731",  # pragma: allowlist secret
    "AWS_SECRET_ACCESS_KEY": "fake/Secret+Sentinel/7732",  # pragma: allowlist secret
    "AZURE_STORAGE_CONNECTION_STRING": "AccountKey=FakeSentinel7733",  # pragma: allowlist secret
    "MLFLOW_TRACKING_PASSWORD": "sentinel-password-7735",  # pragma: allowlist secret
    "MLFLOW_TRACKING_TOKEN": "sentinel-token-7736",  # pragma: allowlist secret
    "API_TOKEN": "sentinel-api-token-7737",  # pragma: allowlist secret
}


@pytest.mark.slow
def test_credentials_reach_no_output_of_the_pipeline(make_project, monkeypatch, capfd):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the scratch embedded store
    root = make_project()
    prepare.run(root)
    logged = train.run(root)
    evaluate.run(root)

    printed = capfd.readouterr()
    outputs = [printed.out.encode(), printed.err.encode()]
    outputs += [path.read_bytes() for path in root.rglob("*") if path.is_file()]  # mlflow.db too
    settings = load_params(root).mlflow
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(logged["run_id"])
    version = client.get_model_version(settings.registered_model_name, logged["registered_version"])
    outputs.append(json.dumps([run.data.params, run.data.tags, version.tags]).encode())
    for name, value in SECRETS.items():
        assert not any(value.encode() in output for output in outputs), f"{name} leaked"
