"""A tracking server that is down, slow or refuses the credentials is named in one line within
seconds; a store that fails after the fit loses nothing: the model is kept and logged later."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from {{ cookiecutter.module_name }}.ci import retrain
from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.modeling.model import load_pipeline
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, RUN_FILE, UNLOGGED_RUN_FILE
from {{ cookiecutter.module_name }}.pipeline import preflight, prepare, train
from {{ cookiecutter.module_name }}.tracking import training_run
from {{ cookiecutter.module_name }}.tracking.__main__ import log_kept, model_uri
from {{ cookiecutter.module_name }}.tracking.server import TrackingUnavailable, check_tracking_server


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def fake_server(status: int, body: bytes) -> Iterator[str]:
    """An HTTP server on loopback that answers every request with `status` and `body`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # serve_forever sees shutdown() at its next poll: every 0.5 s by default, 0.01 s here.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_local_stores_need_no_check():
    check_tracking_server("sqlite:////nowhere/mlflow.db")
    check_tracking_server("file:///nowhere/mlruns")


def test_a_closed_port_is_named_at_once():
    uri = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    with pytest.raises(TrackingUnavailable) as stopped:
        check_tracking_server(uri)
    assert time.monotonic() - start < 5
    message = str(stopped.value)
    assert message.startswith(f"MLflow tracking server {uri} refused the connection")
    assert "MLFLOW_TRACKING_URI" in message and "\n" not in message


def test_a_hung_server_times_out_in_the_given_seconds():
    with silent_server() as uri:
        start = time.monotonic()
        with pytest.raises(TrackingUnavailable, match=r"did not answer within 0\.5 s"):
            check_tracking_server(uri, timeout=0.5)
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_name_the_variables(status):
    with (
        fake_server(status, b"denied") as uri,
        pytest.raises(TrackingUnavailable, match=f"refused the credentials \\(HTTP {status}\\)"),
    ):
        check_tracking_server(uri)


def test_something_else_on_the_port_is_not_taken_for_mlflow():
    for status, body, message in (
        (200, b"<html>a web page</html>", "did not answer with JSON"),
        (404, b"not here", "answered HTTP 404"),
    ):
        with fake_server(status, body) as uri, pytest.raises(TrackingUnavailable, match=message):
            check_tracking_server(uri)


def test_a_server_that_answers_caps_mlflow_retries(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "secret")
    with fake_server(200, json.dumps({"experiments": []}).encode()) as uri:
        check_tracking_server(uri)
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"


def test_make_repro_checks_the_server_before_dvc_runs(make_project, monkeypatch, capsys):
    uri = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.chdir(make_project())
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    preflight.main()  # the embedded store: nothing to reach
    assert capsys.readouterr().out == "params.yaml is valid; MLflow: embedded store\n"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingUnavailable, match=f"MLflow tracking server {uri} refused"):
        preflight.main()


def test_the_retraining_job_checks_the_server_before_dvc_runs(make_project, monkeypatch):
    uri = f"http://127.0.0.1:{closed_port()}"
    root = make_project()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    started = []
    monkeypatch.setattr(retrain.subprocess, "run", lambda *args, **kwargs: started.append(args))
    with pytest.raises(TrackingUnavailable, match=f"MLflow tracking server {uri} refused"):
        retrain.run(root, force=True)
    assert not started  # dvc repro never ran


def test_train_stops_before_the_fit_when_the_server_is_down(make_project, monkeypatch):
    uri = f"http://127.0.0.1:{closed_port()}"
    root = make_project(mlflow={"tracking_uri": uri})
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    prepare.run(root)
    fitted = []
    monkeypatch.setattr(train, "fit", lambda *args: fitted.append(args))
    with pytest.raises(TrackingUnavailable, match=f"MLflow tracking server {uri} refused"):
        train.run(root)
    assert not fitted


@pytest.mark.slow
def test_a_store_failing_after_the_fit_keeps_the_model_to_log_later(make_project, monkeypatch):
    root = make_project()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    prepare.run(root)

    def store_went_away(*args: object, **kwargs: object) -> None:
        raise MlflowException("API request failed: Connection reset by peer")

    with monkeypatch.context() as patch:
        patch.setattr(training_run, "log_training", store_went_away)
        with pytest.raises(TrackingUnavailable) as stopped:
            train.run(root)
    message = str(stopped.value)
    assert "failed while logging the run (API request failed: Connection reset by peer)" in message
    assert f"kept in {MODEL_DIR}/" in message and "tracking log-kept" in message
    kept = load_pipeline(root / MODEL_DIR)  # a complete MLflow model folder, usable as is
    record = json.loads((root / UNLOGGED_RUN_FILE).read_text(encoding="utf-8"))
    assert record["metrics"] and record["tags"]["data_path"]

    settings = load_params(root).mlflow
    logged = log_kept(root, settings)
    assert not (root / UNLOGGED_RUN_FILE).exists()
    assert json.loads((root / RUN_FILE).read_text(encoding="utf-8")) == logged
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(logged["run_id"])
    assert run.data.metrics == pytest.approx(record["metrics"])
    assert run.data.tags["data_path"] == record["tags"]["data_path"]
    version = client.get_model_version(settings.registered_model_name, logged["registered_version"])
    assert version.run_id == logged["run_id"]
    assert type(kept).__name__ == "Pipeline"


def test_model_uri_names_the_files_of_a_version_and_refuses_local_ones(pipeline_run, monkeypatch):
    """`tracking model-uri` (what `make kserve-model` writes): the embedded store keeps files on
    this machine, which no cluster reads: one line says so; an unknown alias is named."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_params(pipeline_run["root"]).mlflow
    with pytest.raises(SystemExit, match=r"stored at file://.*which a cluster cannot read"):
        model_uri(settings, settings.model_alias)
    with pytest.raises(SystemExit, match=r"has no alias 'nobody'"):
        model_uri(settings, "nobody")
    # A version whose files are on object storage is printed as it is stored.
    monkeypatch.setattr(
        MlflowClient, "get_model_version_download_uri", lambda *_: "s3://bucket/1/m-1/artifacts"
    )
    assert model_uri(settings, settings.model_alias) == "s3://bucket/1/m-1/artifacts"
