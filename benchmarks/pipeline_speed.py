"""The generated pipeline's overheads, measured side by side in one project.

1. `make repro` from scratch against the same three stages run as plain `python -m` commands
   (target: at most 1.3x). Outputs, dvc.lock and DVC's run cache are removed before each DVC
   run, so DVC really runs every stage; both variants log to the same MLflow store.
2. A no-op `dvc repro` against `dvc status` on the same project (target: at most 1.2x).

Usage: python benchmarks/pipeline_speed.py [--runs N] [--noop-runs N] [--task T]
Needs uv (installed with requirements-dev.txt) and network access for `make setup`.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import BIN, TEMPLATE_DIR, report, summary, timed

OUTPUTS = [
    "data/processed/train.parquet",
    "data/processed/test.parquet",
    "data/processed/schema.json",
    "models/model",
    "models/mlflow_run.json",
    "reports/metrics.json",
    "reports/plots",
]


def clear_outputs(project: Path, *, dvc_state: bool) -> None:
    targets = [*OUTPUTS, "dvc.lock", ".dvc/cache/runs"] if dvc_state else OUTPUTS
    for relative in targets:
        path = project / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--noop-runs", type=int, default=9)
    parser.add_argument("--task", default="classification")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        timed(
            [
                str(BIN / "cookiecutter"),
                "--no-input",
                "-o",
                str(root),
                str(TEMPLATE_DIR),
                f"task={args.task}",
            ],
            cwd=root,
        )
        project = root / "my-ml-project"
        setup_s = timed(["make", "setup"], cwd=project)
        timed(["make", "repro"], cwd=project)  # creates the MLflow store once for both
        python = str(project / ".venv" / "bin" / "python")
        stages = [
            [python, "-m", f"my_ml_project.pipeline.{stage}"]
            for stage in ("prepare", "train", "evaluate")
        ]

        plain, dvc = [], []
        for _ in range(args.runs):
            clear_outputs(project, dvc_state=False)
            plain.append(sum(timed(stage, cwd=project) for stage in stages))
            clear_outputs(project, dvc_state=True)
            dvc.append(timed(["make", "repro"], cwd=project))

        dvc_bin = str(project / ".venv" / "bin" / "dvc")
        noop, status = [], []
        for _ in range(args.noop_runs):
            noop.append(timed([dvc_bin, "repro"], cwd=project))
            status.append(timed([dvc_bin, "status"], cwd=project))

    results = {
        "task": args.task,
        "make_setup_s": round(setup_s, 2),
        "plain_python_stages": summary(plain),
        "make_repro_from_scratch": summary(dvc),
        "noop_dvc_repro": summary(noop),
        "dvc_status": summary(status),
    }
    repro_ratio = (
        results["make_repro_from_scratch"]["median_s"] / results["plain_python_stages"]["median_s"]
    )
    noop_ratio = results["noop_dvc_repro"]["median_s"] / results["dvc_status"]["median_s"]
    results["verdict"] = {
        "repro_vs_plain_ratio": round(repro_ratio, 3),
        "repro_target": 1.3,
        "repro_meets_target": repro_ratio <= 1.3,
        "noop_repro_vs_status_ratio": round(noop_ratio, 3),
        "noop_target": 1.2,
        "noop_meets_target": noop_ratio <= 1.2,
    }
    report(f"pipeline_speed_{args.task}", results)


if __name__ == "__main__":
    main()
