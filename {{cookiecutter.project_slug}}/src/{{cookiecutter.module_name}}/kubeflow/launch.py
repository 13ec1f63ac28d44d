"""Running the compiled pipeline: here with kfp.local (kubeflow.host empty), or on the Kubeflow
Pipelines endpoint kubeflow.host (KFP_HOST), optionally waiting for the run to finish
(`make kfp-run`, and `make retrain RETRAIN_ON=kfp`, the continuous-training job's choice)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..config import Params
from ..paths import METRICS_FILE
from .pipeline import LOCAL_ROOT, build, compile_pipeline, configured_tracking
from .settings import kubeflow_settings

CONNECT_SECONDS = 5
LOCAL_METRICS = Path("build/kfp/metrics.json")


def run_locally(params: Params, root: Path) -> dict:
    """The pipeline with kfp.local; its evaluate step's metrics, also in build/kfp/metrics.json."""
    import kfp.local

    outputs = root / LOCAL_ROOT
    # Each step runs `python3 -m kfp.dsl.executor_main`: this environment's Python.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(outputs))
    before = set(outputs.glob("*")) if outputs.exists() else set()
    build(params)(
        project=str(root.resolve()),
        package=__package__.rsplit(".", 1)[0],
        tracking_uri=params.mlflow.tracking_uri,  # the project's store, as make repro's
    )
    (run_dir,) = set(outputs.glob("*")) - before
    (found,) = run_dir.glob(f"evaluate*/evaluated/{METRICS_FILE.as_posix()}")
    metrics = json.loads(found.read_text(encoding="utf-8"))
    (root / LOCAL_METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def submit(params: Params, root: Path) -> tuple[object, str]:
    """Submit a run to kubeflow.host (its client and run id); one line when it does not answer
    within seconds."""
    kubeflow = kubeflow_settings(params)
    host = kubeflow.host.rstrip("/")
    tracking = configured_tracking(params)
    if not tracking:
        raise SystemExit(
            "a Kubeflow run cannot write to the embedded MLflow store (a file on this machine): "
            "set mlflow.tracking_uri (or MLFLOW_TRACKING_URI) to a tracking server"
        )
    try:
        urllib.request.urlopen(f"{host}/apis/v2beta1/healthz", timeout=CONNECT_SECONDS)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise SystemExit(
            f"Kubeflow Pipelines at {host} does not answer ({reason}): check kubeflow.host "
            "(KFP_HOST), or empty it to run the pipeline here"
        ) from None
    import kfp

    package = compile_pipeline(params, root)
    client = kfp.Client(host=host)
    run = client.create_run_from_pipeline_package(
        str(package),
        arguments={"tracking_uri": tracking},
        experiment_name=kubeflow.experiment,
    )
    return client, run.run_id


def wait_for(client, run_id: str, minutes: float) -> str:
    """Wait for a submitted run to end; its final state, or one line when it failed or took
    longer than `minutes` (the run itself goes on)."""
    try:
        finished = client.wait_for_run_completion(run_id, timeout=int(minutes * 60))
    except TimeoutError:
        raise SystemExit(
            f"Kubeflow run {run_id} still running after {minutes:g} min "
            "(kubeflow.wait_minutes): follow it in the Kubeflow Pipelines UI"
        ) from None
    state = str(finished.state or "unknown").upper()
    if state != "SUCCEEDED":
        raise SystemExit(
            f"Kubeflow run {run_id} ended {state}: see its steps' logs in the Kubeflow Pipelines UI"
        )
    return state


def launch(params: Params, root: Path, wait: bool) -> str:
    """Run the pipeline here, or submit it (and, with `wait`, see it through); what happened,
    as one line."""
    kubeflow = kubeflow_settings(params)
    if not kubeflow.host:
        metrics = run_locally(params, root)
        scores = ", ".join(
            f"{name} {value:.4f}" for name, value in metrics.items() if isinstance(value, float)
        )
        return f"pipeline ran here (kfp.local): {scores}; outputs in {root / LOCAL_ROOT}/"
    client, run_id = submit(params, root)
    where = f"run {run_id} on {kubeflow.host}"
    if not wait:
        return f"submitted {where}"
    return f"{where}: {wait_for(client, run_id, kubeflow.wait_minutes)}"
