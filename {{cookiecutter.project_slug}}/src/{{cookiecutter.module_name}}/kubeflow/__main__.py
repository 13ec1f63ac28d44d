"""`make kfp-compile` / `make kfp-run`, or

    python -m <package>.kubeflow compile|run

compile writes build/kfp/pipeline.yaml (KFP v2). run runs the pipeline on this machine with
kfp.local (one subprocess per step, in this environment; outputs in build/kfp/local/) when
kubeflow.host (KFP_HOST) is empty, and submits it to that Kubeflow Pipelines endpoint otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..config import Params, load_params
from ..paths import METRICS_FILE
from .pipeline import LOCAL_ROOT, build, compile_pipeline, configured_tracking

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


def submit(params: Params, root: Path) -> str:
    """Submit a run to kubeflow.host; one line when it does not answer within seconds."""
    host = params.kubeflow.host.rstrip("/")
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
    run = kfp.Client(host=host).create_run_from_pipeline_package(
        str(package),
        arguments={"tracking_uri": tracking},
        experiment_name=params.kubeflow.experiment,
    )
    return run.run_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("compile", "run"))
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    args = parser.parse_args(argv)
    params = load_params(args.root)
    if args.command == "compile":
        print(f"KFP pipeline written to {compile_pipeline(params, args.root)}")
    elif params.kubeflow.host:
        run_id = submit(params, args.root)
        print(f"submitted run {run_id} to {params.kubeflow.host}")
    else:
        metrics = run_locally(params, args.root)
        scores = ", ".join(
            f"{name} {value:.4f}" for name, value in metrics.items() if isinstance(value, float)
        )
        print(f"pipeline ran here (kfp.local): {scores}; outputs in {args.root / LOCAL_ROOT}/")


if __name__ == "__main__":
    sys.exit(main())
