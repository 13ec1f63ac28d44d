"""Batch prediction (`make predict`) of a baked project, against the floor and a peer, same run.

1. Throughput on 1M rows (the sample data resampled, as raw records in Parquet): the whole
   `python -m <module>.predict IN OUT` (start-up, reading, checking, scoring, writing) against
   the floor of one in-process `pipeline.predict` on the same rows already in a DataFrame
   (target: at least 80% of its rows/s), and against `mlflow models predict` on the same rows
   as CSV (`--env-manager local`).
2. Peak memory (resident set of the process) from 100k to 5M rows: flat within 20%.

Usage: python benchmarks/predict_benchmark.py [--project DIR] [--rows 1000000]
    [--memory-rows 100000,1000000,5000000] [--skip-mlflow]
--project reuses a baked project whose .venv and models/ exist (make setup && make repro).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import report
from serving_benchmark import bake_and_train

# Runs inside the project's environment: resample the raw data to N rows, as Parquet (and CSV).
MAKE_DATA = r"""
import sys, numpy as np, pandas as pd
from {module}.config import load_params
from {module}.dataset.raw import read_raw
params = load_params(".")
raw = read_raw(__import__("pathlib").Path("."), params.data)
rows, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
frame = raw.iloc[rng.integers(0, len(raw), rows)].reset_index(drop=True)
frame.to_parquet(out + ".parquet", row_group_size=100_000)
if len(sys.argv) > 3:
    frame.to_csv(out + ".csv", index=False)
"""

# The floor: the Pipeline's own predict on the rows already in memory (no reading, no checks).
FLOOR = r"""
import sys, time, json, pandas as pd
from pathlib import Path
from {module}.modeling.model import load_pipeline
from {module}.dataset.schema import Schema
model = load_pipeline(Path("models/model"))
schema = Schema.load(Path("models/model/schema.json"))
frame = pd.read_parquet(sys.argv[1], columns=list(schema.features))
start = time.perf_counter()
(model.predict_proba if hasattr(model, "classes_") else model.predict)(frame)
print(json.dumps({{"seconds": time.perf_counter() - start, "rows": len(frame)}}))
"""

# Peak resident memory of a command, read from the kernel after it ends (KiB on Linux).
PEAK = r"""
import resource, subprocess, sys, time, json
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak / 1024,
                  "code": done.returncode, "stderr": done.stderr[-500:]}))
"""


def in_project(project: Path, script: str, *args: str) -> dict:
    python = str(project / ".venv" / "bin" / "python")
    done = subprocess.run(
        [python, "-c", script, *args], cwd=project, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"failed in {project}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def peak(project: Path, *command: str) -> dict:
    """Wall time and peak memory of one command run in the project's environment."""
    env = {**os.environ, "PATH": f"{project / '.venv/bin'}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *command],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {result['code']}: {result['stderr']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", type=Path, help="a baked, set-up and trained project")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", default="100000,1000000,5000000")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        project = args.project.resolve() if args.project else bake_and_train(scratch)
        module = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"][
            "module_name"
        ]
        python = str(project / ".venv" / "bin" / "python")
        results: dict = {"model": "the project's trained model", "rows": args.rows}

        data = scratch / f"batch_{args.rows}"
        in_project(project, MAKE_DATA.format(module=module), str(args.rows), str(data), "csv")
        floor = in_project(project, FLOOR.format(module=module), f"{data}.parquet")
        results["floor_pipeline_predict"] = {
            "seconds": round(floor["seconds"], 2),
            "rows_per_s": round(args.rows / floor["seconds"]),
        }
        ours = peak(
            project,
            python,
            "-m",
            f"{module}.predict",
            f"{data}.parquet",
            str(scratch / "out.parquet"),
        )
        results["make_predict"] = {
            "seconds": round(ours["seconds"], 2),
            "rows_per_s": round(args.rows / ours["seconds"]),
            "peak_mb": round(ours["peak_mb"]),
        }
        results["ratio_to_floor"] = round(
            results["make_predict"]["rows_per_s"] / results["floor_pipeline_predict"]["rows_per_s"],
            2,
        )
        if not args.skip_mlflow:
            mlflow = peak(
                project,
                str(project / ".venv" / "bin" / "mlflow"),
                *["models", "predict", "-m", "models/model", "-i", f"{data}.csv"],
                *["-t", "csv", "-o", str(scratch / "mlflow.json"), "--env-manager", "local"],
            )
            results["mlflow_models_predict"] = {
                "seconds": round(mlflow["seconds"], 2),
                "rows_per_s": round(args.rows / mlflow["seconds"]),
                "peak_mb": round(mlflow["peak_mb"]),
            }
        memory = {}
        for rows in (int(value) for value in args.memory_rows.split(",")):
            sized = scratch / f"memory_{rows}"
            in_project(project, MAKE_DATA.format(module=module), str(rows), str(sized))
            found = peak(
                project,
                python,
                "-m",
                f"{module}.predict",
                f"{sized}.parquet",
                str(scratch / f"out_{rows}.parquet"),
            )
            memory[str(rows)] = {
                "peak_mb": round(found["peak_mb"]),
                "seconds": round(found["seconds"], 1),
                "rows_per_s": round(rows / found["seconds"]),
            }
            (sized.with_suffix(".parquet")).unlink(missing_ok=True)
        results["peak_memory_by_rows"] = memory
        peaks = [entry["peak_mb"] for entry in memory.values()]
        results["memory_growth"] = round(max(peaks) / min(peaks) - 1, 3)
        results["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report("predict", results)


if __name__ == "__main__":
    main()
